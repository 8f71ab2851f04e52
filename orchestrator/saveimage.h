/*
 * saveimage.h: libvirt's QEMU save image, read and written again under
 * another domain's XML, for instant clones (issue 12).
 *
 * A save image (virDomainSaveFlags) is a 92-byte header, then data_len bytes
 * holding the domain XML and libvirt's cookie XML (each NUL-terminated, then
 * zeros), then QEMU's migration stream to the end of the file. libvirt
 * refuses to restore an image under another UUID or name, so each clone gets
 * a file of its own: a new header and XML in front of the template's stream.
 * The layout (libvirt's src/qemu/qemu_saveimage.h, version 2):
 *
 *   char magic[16]          "LibvirtQemudSave" ("LibvirtQemudPart" while
 *                           libvirt is still writing it)
 *   uint32 version          2
 *   uint32 data_len         bytes of XML, cookie and padding after the header
 *   uint32 was_running      1 when the guest ran at save time
 *   uint32 compressed       0 = raw stream (the only one crange accepts)
 *   uint32 cookieOffset     where the cookie starts, from the start of data
 *   uint32 unused[14]       zeros
 *
 * All fields are in the host's byte order (libvirt writes the struct as is);
 * crange runs on x86-64 and checks the version field to catch a mismatch.
 */
#ifndef CRANGE_SAVEIMAGE_H
#define CRANGE_SAVEIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_SAVEIMAGE_HEADER 92
/* A domain's XML is some kilobytes; anything this large is not a save image
 * crange wrote, and is refused before it is read into memory. */
#define CR_SAVEIMAGE_MAX_DATA (16u << 20)

typedef struct cr_saveimage {
    uint32_t version;
    uint32_t data_len;
    uint32_t was_running;
    uint32_t compressed;
    char *xml;              /* the domain XML (owned) */
    char *cookie;           /* libvirt's cookie XML (owned), NULL when none */
    uint64_t stream_offset; /* where QEMU's stream starts: 92 + data_len */
    uint64_t stream_len;    /* its length, to the end of the file */
} cr_saveimage;

/* Reads and checks the header and XML of the save image at path: magic,
 * version 2, a raw (uncompressed) stream, lengths within the file, NUL-ended
 * XML. CR_EINVAL with a message naming the file and what is wrong. */
int cr_saveimage_read(cr_saveimage *out, const char *path);

/* The same checks on bytes read some other way (a remote host's image,
 * through libvirt's storage API; name is for messages): first the 92-byte
 * header alone, giving data_len, then the header and data_len bytes. */
int cr_saveimage_check_header(uint32_t *data_len, const void *head, uint64_t file_size, const char *name);
int cr_saveimage_parse(cr_saveimage *out, const void *head, uint64_t file_size, const char *name);

/* A clone's header and data part alone (*out new, *len bytes), for a copy
 * of the template's image to be overwritten in place: CR_EINVAL when xml
 * does not fit in the template's data_len. */
int cr_saveimage_head(char **out, size_t *len, const cr_saveimage *tmpl, const char *xml, const char *name);
void cr_saveimage_free(cr_saveimage *s); /* the members; NULL-safe */

/* Writes dst (mode 0600, through a temporary file renamed into place): a
 * header and data for xml and the template's cookie, followed by the stream
 * of the image at src_path (tmpl, as read from it). The data keeps the
 * template's data_len when the new XML fits in it (libvirt leaves 64 KiB
 * spare), so the stream sits at the same offset in both files; it is copied
 * with copy_file_range, which lets the kernel share or offload the copy where
 * the filesystem can. A larger XML gets a larger data part, as libvirt does. */
int cr_saveimage_write(const char *dst, const cr_saveimage *tmpl, const char *src_path, const char *xml);

/* The same image, streamed instead of written: a thread writes it into the
 * FIFO at fifo_path (which the caller made with mkfifo) as libvirt reads it
 * (virDomainRestoreFlags reads a save image sequentially, from a FIFO as
 * from a file), so that a clone costs no copy of the template's memory on
 * disk. cr_saveimage_stream_end tells the thread the restore is over
 * (whether or not libvirt read everything), waits for it, frees it, and
 * returns its result: CR_ERROR when libvirt stopped reading early. */
typedef struct cr_saveimage_stream cr_saveimage_stream;
int cr_saveimage_stream_start(cr_saveimage_stream **out, const char *fifo_path, const cr_saveimage *tmpl,
                              const char *src_path, const char *xml);
int cr_saveimage_stream_end(cr_saveimage_stream *s);

#endif
