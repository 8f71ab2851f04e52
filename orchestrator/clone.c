/*
 * clone.c: builds a clone's domain XML (clone.h) with libxml2: parses the
 * template's saved XML and the XML generated for the clone, copies the
 * identity fields from the second into the first, and serialises the result
 * without an XML declaration, as libvirt writes its own.
 */
#include "clone.h"

#include "err.h"
#include "util.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <string.h>

static xmlDocPtr parse(const char *xml, const char *what)
{
    /* No network access, no entity expansion: the template's XML came from a
     * file libvirt wrote, but a file on disk is still input. */
    xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), what, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                                     XML_PARSE_NOWARNING);
    if (!d)
        cr_error_set(CR_EINVAL, "%s: not well-formed XML", what);
    return d;
}

/* The nodes an XPath matches in doc (NULL when none; free with
 * xmlXPathFreeObject). */
static xmlXPathObjectPtr find(xmlDocPtr doc, const char *path)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr r = ctx ? xmlXPathEvalExpression((const xmlChar *)path, ctx) : NULL;
    xmlXPathFreeContext(ctx);
    if (r && (!r->nodesetval || r->nodesetval->nodeNr == 0)) {
        xmlXPathFreeObject(r);
        r = NULL;
    }
    return r;
}

static int count(xmlXPathObjectPtr r)
{
    return r ? r->nodesetval->nodeNr : 0;
}

/* Replaces the text of every node `path` matches in dst with the i-th match
 * in src (attributes and elements alike). Counts must agree. */
static int copy_values(xmlDocPtr dst, xmlDocPtr src, const char *path, const char *what)
{
    xmlXPathObjectPtr a = find(dst, path), b = find(src, path);
    int rc = 0;
    if (count(a) != count(b)) {
        rc = cr_error_set(CR_EINVAL, "the clone has %d %s, its template %d", count(b), what, count(a));
        goto cleanup;
    }
    for (int i = 0; i < count(a); i++) {
        xmlChar *v = xmlNodeGetContent(b->nodesetval->nodeTab[i]);
        const xmlChar *value = v ? v : (const xmlChar *)"";
        xmlNodePtr n = a->nodesetval->nodeTab[i];
        /* Set as text, never parsed: a value holding '&' or '<' stays text. */
        if (n->type == XML_ATTRIBUTE_NODE) {
            xmlSetProp(n->parent, n->name, value);
        } else {
            xmlNodeSetContent(n, NULL);
            xmlAddChild(n, xmlNewDocText(dst, value));
        }
        xmlFree(v);
    }
cleanup:
    xmlXPathFreeObject(a);
    xmlXPathFreeObject(b);
    return rc;
}

/* Gives each of dst's NICs the type and <source> of src's NIC in the same
 * place (a template's NICs are unattached taps; a clone's are on its team's
 * networks). */
static int copy_nics(xmlDocPtr dst, xmlDocPtr src)
{
    xmlXPathObjectPtr a = find(dst, "/domain/devices/interface"), b = find(src, "/domain/devices/interface");
    int rc = 0;
    if (count(a) != count(b)) {
        rc = cr_error_set(CR_EINVAL, "the clone has %d NICs, its template %d", count(b), count(a));
        goto cleanup;
    }
    for (int i = 0; i < count(a); i++) {
        xmlNodePtr to = a->nodesetval->nodeTab[i], from = b->nodesetval->nodeTab[i];
        xmlChar *type = xmlGetProp(from, (const xmlChar *)"type");
        xmlSetProp(to, (const xmlChar *)"type", type ? type : (const xmlChar *)"network");
        xmlFree(type);
        for (xmlNodePtr c = to->children, next; c; c = next) {
            next = c->next;
            if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, (const xmlChar *)"source")) {
                xmlUnlinkNode(c);
                xmlFreeNode(c);
            }
        }
        for (xmlNodePtr c = from->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, (const xmlChar *)"source"))
                xmlAddChild(to, xmlDocCopyNode(c, dst, 1));
    }
cleanup:
    xmlXPathFreeObject(a);
    xmlXPathFreeObject(b);
    return rc;
}

/* Removes every node path matches. The set's slot is cleared as its node
 * goes: freeing the set looks at each node's type, and valgrind caught it
 * reading the freed nodes (tests/e2e/test_valgrind.sh). */
static void remove_all(xmlDocPtr doc, const char *path)
{
    xmlXPathObjectPtr r = find(doc, path);
    for (int i = 0; i < count(r); i++) {
        xmlUnlinkNode(r->nodesetval->nodeTab[i]);
        xmlFreeNode(r->nodesetval->nodeTab[i]);
        r->nodesetval->nodeTab[i] = NULL;
    }
    xmlXPathFreeObject(r);
}

/* Replaces dst's <metadata> with a copy of src's (or removes it). */
static void copy_metadata(xmlDocPtr dst, xmlDocPtr src)
{
    xmlXPathObjectPtr s = find(src, "/domain/metadata");
    remove_all(dst, "/domain/metadata");
    if (s) {
        xmlNodePtr copy = xmlDocCopyNode(s->nodesetval->nodeTab[0], dst, 1);
        xmlXPathObjectPtr after = find(dst, "/domain/name");
        if (copy && after)
            xmlAddNextSibling(after->nodesetval->nodeTab[0], copy);
        else if (copy)
            xmlFreeNode(copy);
        xmlXPathFreeObject(after);
    }
    xmlXPathFreeObject(s);
}

/* Serialises doc without an XML declaration into *out (new string). */
static int dump(char **out, xmlDocPtr doc)
{
    int rc = 0;
    xmlBufferPtr buf = xmlBufferCreate();
    xmlSaveCtxtPtr save = buf ? xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL) : NULL;
    if (!save || xmlSaveDoc(save, doc) < 0) {
        rc = cr_error_set(CR_ERROR, "cannot write a domain XML");
        if (save)
            xmlSaveClose(save);
    } else {
        xmlSaveClose(save);
        *out = cr_xstrndup((const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
    }
    xmlBufferFree(buf);
    return rc;
}

int cr_clone_xml(char **out, const char *template_xml, const char *identity_xml)
{
    *out = NULL;
    int rc = 0;
    xmlDocPtr t = parse(template_xml, "the template's domain XML");
    xmlDocPtr id = t ? parse(identity_xml, "the clone's domain XML") : NULL;
    if (!t || !id) {
        rc = CR_EINVAL;
        goto cleanup;
    }
    if ((rc = copy_values(t, id, "/domain/name", "names")) < 0 ||
        (rc = copy_values(t, id, "/domain/devices/disk/source/@file", "disk files")) < 0 ||
        (rc = copy_nics(t, id)) < 0 ||
        (rc = copy_values(t, id, "/domain/devices/interface/mac/@address", "NIC MACs")) < 0 ||
        (rc = copy_values(t, id, "/domain/devices/serial/log/@file", "serial logs")) < 0 ||
        (rc = copy_values(t, id, "/domain/os/cmdline", "kernel command lines")) < 0)
        goto cleanup;
    /* libvirt's live XML repeats the serial port's log under <console>,
     * the generated one does not: the console logs where the serial does. */
    xmlXPathObjectPtr serial = find(id, "/domain/devices/serial/log/@file");
    xmlXPathObjectPtr console = find(t, "/domain/devices/console/log/@file");
    xmlChar *log = serial ? xmlNodeGetContent(serial->nodesetval->nodeTab[0]) : NULL;
    for (int i = 0; log && i < count(console); i++)
        xmlSetProp(console->nodesetval->nodeTab[i]->parent, (const xmlChar *)"file", log);
    xmlFree(log);
    xmlXPathFreeObject(serial);
    xmlXPathFreeObject(console);
    remove_all(t, "/domain/uuid");
    copy_metadata(t, id);
    rc = dump(out, t);
cleanup:
    xmlFreeDoc(id);
    xmlFreeDoc(t);
    return rc;
}

int cr_clone_template_xml(char **out, const char *xml, const char *name, const char *console_log)
{
    *out = NULL;
    xmlDocPtr d = parse(xml, "the template's domain XML");
    if (!d)
        return CR_EINVAL;
    xmlXPathObjectPtr r = find(d, "/domain/name");
    int rc = r ? 0 : cr_error_set(CR_EINVAL, "the template's domain XML has no name");
    if (rc == 0) {
        xmlNodeSetContent(r->nodesetval->nodeTab[0], NULL);
        xmlAddChild(r->nodesetval->nodeTab[0], xmlNewDocText(d, (const xmlChar *)name));
    }
    xmlXPathFreeObject(r);
    r = find(d, "/domain/devices/*/log/@file");
    for (int i = 0; rc == 0 && i < count(r); i++)
        xmlSetProp(r->nodesetval->nodeTab[i]->parent, (const xmlChar *)"file", (const xmlChar *)console_log);
    xmlXPathFreeObject(r);
    /* Its NICs are taps on no bridge: the template boots while a team's VMs
     * with the same addresses and MACs may run on that team's networks
     * (a range that grows, a revert). The backend is not part of what QEMU
     * saves, so its clones attach to their own networks all the same. */
    r = find(d, "/domain/devices/interface");
    for (int i = 0; rc == 0 && i < count(r); i++) {
        xmlNodePtr nic = r->nodesetval->nodeTab[i];
        xmlSetProp(nic, (const xmlChar *)"type", (const xmlChar *)"ethernet");
        for (xmlNodePtr c = nic->children, next; c; c = next) {
            next = c->next;
            if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, (const xmlChar *)"source")) {
                xmlUnlinkNode(c);
                xmlFreeNode(c);
            }
        }
    }
    xmlXPathFreeObject(r);
    remove_all(d, "/domain/uuid");
    remove_all(d, "/domain/metadata");
    if (rc == 0)
        rc = dump(out, d);
    xmlFreeDoc(d);
    return rc;
}

int cr_clone_macs(char ***out, size_t *n, const char *xml)
{
    *out = NULL;
    *n = 0;
    xmlDocPtr d = parse(xml, "the template's domain XML");
    if (!d)
        return CR_EINVAL;
    xmlXPathObjectPtr r = find(d, "/domain/devices/interface/mac/@address");
    *out = cr_xcalloc((size_t)count(r) + 1, sizeof **out);
    for (int i = 0; i < count(r); i++) {
        xmlChar *v = xmlNodeGetContent(r->nodesetval->nodeTab[i]);
        (*out)[(*n)++] = cr_xstrdup(v ? (const char *)v : "");
        xmlFree(v);
    }
    xmlXPathFreeObject(r);
    xmlFreeDoc(d);
    return 0;
}

int cr_clone_tb_cache(char **out, const char *xml, unsigned mib)
{
    *out = NULL;
    xmlDocPtr d = parse(xml, "a domain XML");
    if (!d)
        return CR_EINVAL;
    xmlXPathObjectPtr r = find(d, "/domain/features/tcg/tb-cache");
    char v[16];
    snprintf(v, sizeof v, "%u", mib);
    for (int i = 0; i < count(r); i++) {
        xmlNodePtr n = r->nodesetval->nodeTab[i];
        xmlNodeSetContent(n, (const xmlChar *)v);
        xmlSetProp(n, (const xmlChar *)"unit", (const xmlChar *)"MiB");
    }
    xmlXPathFreeObject(r);
    int rc = dump(out, d);
    xmlFreeDoc(d);
    return rc;
}

#define QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* s with every ',' doubled, as QEMU's option syntax wants it (new string). */
static char *qemu_escape(const char *s)
{
    cr_buf b = {0};
    for (; *s; s++)
        cr_buf_add(&b, *s == ',' ? ",," : (char[]){*s, '\0'});
    return b.data ? b.data : cr_xstrdup("");
}

static void add_arg(xmlNodePtr cmd, xmlNsPtr ns, const char *value)
{
    xmlNodePtr arg = xmlNewChild(cmd, ns, (const xmlChar *)"arg", NULL);
    xmlSetProp(arg, (const xmlChar *)"value", (const xmlChar *)value);
}

int cr_clone_ram_xml(char **out, const char *xml, const char *ram, unsigned mib, bool share, const char *qmp)
{
    *out = NULL;
    xmlDocPtr d = parse(xml, "a domain XML");
    if (!d)
        return CR_EINVAL;
    xmlNodePtr root = xmlDocGetRootElement(d);
    /* Any earlier <qemu:commandline> goes: crange writes the only one. */
    for (xmlNodePtr c = root ? root->children : NULL, next; c; c = next) {
        next = c->next;
        if (c->type == XML_ELEMENT_NODE && c->ns && !xmlStrcmp(c->ns->href, (const xmlChar *)QEMU_NS) &&
            !xmlStrcmp(c->name, (const xmlChar *)"commandline")) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    }
    if (root && ram) {
        xmlNsPtr ns = xmlSearchNsByHref(d, root, (const xmlChar *)QEMU_NS);
        if (!ns)
            ns = xmlNewNs(root, (const xmlChar *)QEMU_NS, (const xmlChar *)"qemu");
        xmlNodePtr cmd = xmlNewChild(root, ns, (const xmlChar *)"commandline", NULL);
        char *path = qemu_escape(ram);
        char *mem = cr_xasprintf("memory-backend-file,id=crange.ram,size=%uM,mem-path=%s,share=%s", mib, path,
                                 share ? "on" : "off");
        add_arg(cmd, ns, "-object");
        add_arg(cmd, ns, mem);
        /* Replaces libvirt's own backend (left allocated, never touched). */
        add_arg(cmd, ns, "-machine");
        add_arg(cmd, ns, "memory-backend=crange.ram");
        if (qmp) {
            char *sock = qemu_escape(qmp);
            char *mon = cr_xasprintf("unix:%s,server=on,wait=on", sock);
            add_arg(cmd, ns, "-qmp");
            add_arg(cmd, ns, mon);
            free(mon);
            free(sock);
        }
        free(mem);
        free(path);
    }
    int rc = dump(out, d);
    xmlFreeDoc(d);
    return rc;
}
