/*
 * paths.h: where crange finds its data (image recipes, scenarios) and keeps
 * its state.
 *
 * Data: $CRANGE_DATA if set, else the source tree it was built from (when it
 * still exists), else the install prefix's share/crange.
 * State: --state, else $CRANGE_STATE, else /var/lib/crange for root and
 * $XDG_STATE_HOME/crange (~/.local/state/crange) for others.
 *
 * Layout of the state folder, with the modes crange gives what it creates:
 *   (the folder itself)     0711: QEMU, which runs as another user
 *                           (libvirt-qemu), passes through it to images/,
 *                           overlays/ and templates/, but cannot list it
 *   images/<name>/          built images (image.json, vmlinuz, initrd.img, disk.qcow2)
 *   ranges/<range>/         0700: range.db (SQLite: the record of the
 *                           exercise, with the range secret and every team's
 *                           answers; 0600, as are its -wal and -shm), lock
 *   overlays/<range>/       the libvirt storage pool holding the range's qcow2 overlays
 *   templates/              instant-clone disks and memory images (0755: QEMU opens them)
 *   archive/                0700: range databases of ranges that were brought down (0600)
 *   portal/                 0700: admin.argon2id, the instructor's password hash (0600)
 *   accel.json              the cached result of the KVM probe
 * Nothing QEMU opens lives under ranges/, archive/ or portal/, so only root
 * (the user running crange) can enter them. An existing folder or file keeps
 * its mode; `crange doctor` warns when group or others can read a secret or
 * list a folder holding one.
 */
#ifndef CRANGE_PATHS_H
#define CRANGE_PATHS_H

#define CR_STATE_DIR_MODE 0711   /* the state folder: passed through by QEMU, listed by no one else */
#define CR_PRIVATE_DIR_MODE 0700 /* ranges/, ranges/<range>/, archive/, portal/ */
#define CR_SECRET_FILE_MODE 0600 /* range databases and their -wal/-shm, the admin hash */

/* Each returns a new string the caller frees. */
char *cr_data_dir(void);
char *cr_data_path(const char *rel);      /* cr_data_dir()/rel */
char *cr_default_state_dir(void);

/* Makes the folder PATH with exactly MODE when it does not exist (the umask
 * does not apply; missing parents are made 0755, less the umask, as mkdir -p
 * would). An existing folder is left as it is. 0 or CR_ERROR. */
int cr_dir_make(const char *path, unsigned mode);

#endif
