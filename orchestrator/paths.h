/*
 * paths.h: where crange finds its data (image recipes, scenarios) and keeps
 * its state.
 *
 * Data: $CRANGE_DATA if set, else the source tree it was built from (when it
 * still exists), else the install prefix's share/crange.
 * State: --state, else $CRANGE_STATE, else /var/lib/crange for root and
 * $XDG_STATE_HOME/crange (~/.local/state/crange) for others.
 *
 * Layout of the state folder:
 *   images/<name>/          built images (image.json, vmlinuz, initrd.img, disk.qcow2)
 *   ranges/<range>/         range.db (SQLite: the record of the exercise), lock
 *   overlays/<range>/       the libvirt storage pool holding the range's qcow2 overlays
 *   archive/                range databases of ranges that were brought down
 *   accel.json              the cached result of the KVM probe
 */
#ifndef CRANGE_PATHS_H
#define CRANGE_PATHS_H

/* Each returns a new string the caller frees. */
char *cr_data_dir(void);
char *cr_data_path(const char *rel);      /* cr_data_dir()/rel */
char *cr_default_state_dir(void);

#endif
