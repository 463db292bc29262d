/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The journal MESSAGE_ID of each kind of workload event (one 128-bit id each, never reused):
 * `journalctl MESSAGE_ID=<id>` finds every event of a kind, `journalctl WORKLOAD_ID=3` one
 * workload's story. docs/SECURITY.md lists them. */

#define MESSAGE_WORKLOAD_STARTED "9c814b4662c6438e99ff0122862d2ad6"
#define MESSAGE_WORKLOAD_LOCKED "063882e35116442a921bf84ee0d54afe"
#define MESSAGE_WORKLOAD_FAILED "225045803d1d471c99973c96962692d7"
#define MESSAGE_WORKLOAD_EXITED "a2bbe29f2f1c4cbf9407f91b4f029d5d"
#define MESSAGE_WORKLOAD_DETACHED "0362547546684e3b83db4d2cfa4c93a4"
#define MESSAGE_WORKLOAD_LIMIT "576e2e48dfeb499c864597f8cf2b59d3"
