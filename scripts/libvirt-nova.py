#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# OpenStack Nova's libvirt driver, as far as vGPUs go, replayed with
# python3-libvirt in the libvirt test VM (scripts/libvirt-tests.sh):
#
#   1. the mdev-capable parents: listAllDevices(CAP_MDEV_TYPES), and each
#      one's XMLDesc(0): the types (id, name, deviceAPI, availableInstances)
#      Nova reports as inventory for [devices] enabled_mdev_types;
#   2. the existing mdevs: listAllDevices(CAP_MDEV), each one's parent,
#      type and UUID (Nova's _get_mediated_devices / _get_all_assigned_mediated_devices);
#   3. an mdev for an instance, both ways Nova makes one:
#      a. persistent (newer Nova): nodeDeviceDefineXML, create(),
#         setAutostart(1);
#      b. the privsep way (older Nova, still its fallback): the UUID
#         written to /sys/class/mdev_bus/<PCI address>/mdev_supported_types/<type>/create,
#         the PCI address made from the parent's node-device name;
#      after each, libvirt lists the mdev with its parent and the type's
#      availableInstances is one less; then it is removed again.
#
# usage: libvirt-nova.py PARENT-NODEDEV-NAME SYSFS-PARENT
# Prints what it does; exit status 0 when everything held.
import os
import sys
import time
import xml.etree.ElementTree as ET

import libvirt

TYPE = "mgpu-1_4"
U_DEF = "6a0b4f1e-0c5b-4d0e-9a13-000000000001"
U_SYS = "6a0b4f1e-0c5b-4d0e-9a13-000000000002"

pname, sysparent = sys.argv[1], sys.argv[2]
errors = []


def fail(msg):
    print("FAIL: " + msg)
    errors.append(msg)


def types_of(dev):
    """Nova's view of a parent's types (LibvirtConfigNodeDevice)."""
    root = ET.fromstring(dev.XMLDesc(0))
    out = {}
    for cap in root.iter("capability"):
        if cap.get("type") != "mdev_types":
            continue
        for t in cap.findall("type"):
            out[t.get("id")] = {
                "name": t.findtext("name"),
                "deviceAPI": t.findtext("deviceAPI"),
                "availableInstances": int(t.findtext("availableInstances")),
            }
    return out


def mdevs(conn):
    """Nova's view of the existing mdevs: uuid -> (name, parent, type)."""
    out = {}
    for d in conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV):
        try:
            root = ET.fromstring(d.XMLDesc(0))
        except libvirt.libvirtError:
            continue    # gone between the listing and the lookup
        cap = [c for c in root.iter("capability") if c.get("type") == "mdev"][0]
        out[cap.findtext("uuid")] = (d.name(), root.findtext("parent"),
                                     cap.find("type").get("id"))
    return out


def wait(pred, secs=20):
    end = time.time() + secs
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.5)
    return pred()


def avail(conn):
    return types_of(conn.nodeDeviceLookupByName(pname))[TYPE]["availableInstances"]


libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open("qemu:///system")
print("libvirt %d, python3-libvirt %d" % (conn.getLibVersion(), libvirt.getVersion()))

# 1. parents and types
parents = conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES)
print("listAllDevices(CAP_MDEV_TYPES): %s" % " ".join(d.name() for d in parents))
dev = [d for d in parents if d.name() == pname]
if not dev:
    fail("%s is not an mdev-capable device to libvirt: Nova does not see it" % pname)
    sys.exit(1)
types = types_of(dev[0])
for tid in sorted(types):
    t = types[tid]
    print("  %s: name=%r deviceAPI=%s availableInstances=%d" %
          (tid, t["name"], t["deviceAPI"], t["availableInstances"]))
    sysfs = "/sys/class/mdev_bus/%s/mdev_supported_types/%s" % (sysparent, tid)
    with open(sysfs + "/available_instances") as f:
        if int(f.read()) != t["availableInstances"]:
            fail("%s: availableInstances differs from sysfs" % tid)
if TYPE not in types:
    fail("no type %s on %s" % (TYPE, pname))
    sys.exit(1)

# 2. existing mdevs
print("listAllDevices(CAP_MDEV): %s" % (mdevs(conn) or "none"))

# 3a. persistent: define, create, autostart
before = avail(conn)
xml = ("<device><parent>%s</parent><capability type='mdev'><type id='%s'/>"
       "<uuid>%s</uuid></capability></device>" % (pname, TYPE, U_DEF))
try:
    d = conn.nodeDeviceDefineXML(xml, 0)
    d.create()
    d.setAutostart(1)
    print("nodeDeviceDefineXML + create + setAutostart: %s" % d.name())
    # libvirt marks it active when udev reports it (an event after create()).
    if not wait(lambda: conn.nodeDeviceLookupByName(d.name()).isActive()):
        fail("the defined and created mdev does not become active")
    if not wait(lambda: U_DEF in mdevs(conn)):
        fail("the defined mdev is not listed by listAllDevices(CAP_MDEV)")
    elif mdevs(conn)[U_DEF][1:] != (pname, TYPE):
        fail("the defined mdev's parent/type: %s" % (mdevs(conn)[U_DEF],))
    if not os.path.exists("/sys/bus/mdev/devices/" + U_DEF):
        fail("the defined mdev is not in sysfs")
    # libvirt re-reads mdevctl's definitions when /etc/mdevctl.d changes:
    # autostart() may follow a moment later.
    if not wait(lambda: conn.nodeDeviceLookupByName(d.name()).autostart()):
        fail("autostart() is not set 20 s after setAutostart(1); mdevctl list -d: %s"
             % os.popen("mdevctl list -d 2>&1").read().strip())
    if avail(conn) != before - 1:
        fail("availableInstances %d after a create, was %d" % (avail(conn), before))
    d.destroy()
    d.undefine()
except libvirt.libvirtError as e:
    fail("define/create/autostart/destroy/undefine: %s" % e)
if not wait(lambda: U_DEF not in mdevs(conn)) or avail(conn) != before:
    fail("after destroy and undefine: still listed, or availableInstances %d, was %d"
         % (avail(conn), before))

# 3b. the privsep way: sysfs create on the PCI address of the parent
if pname.startswith("pci_"):
    dom, bus, slot, fn = pname[4:].split("_")
    addr = "%s:%s:%s.%s" % (dom, bus, slot, fn)
    path = "/sys/class/mdev_bus/%s/mdev_supported_types/%s/create" % (addr, TYPE)
    try:
        with open(path, "w") as f:
            f.write(U_SYS)
        print("sysfs create: %s" % path)
        if not wait(lambda: U_SYS in mdevs(conn)):
            fail("the sysfs-made mdev is not listed by libvirt")
        elif mdevs(conn)[U_SYS][1:] != (pname, TYPE):
            fail("the sysfs-made mdev's parent/type: %s" % (mdevs(conn)[U_SYS],))
        if avail(conn) != before - 1:
            fail("availableInstances %d after a sysfs create, was %d" % (avail(conn), before))
        with open("/sys/bus/mdev/devices/%s/remove" % U_SYS, "w") as f:
            f.write("1")
    except OSError as e:
        fail("sysfs create on %s: %s" % (path, e))
    if not wait(lambda: U_SYS not in mdevs(conn)) or avail(conn) != before:
        fail("after the sysfs remove: still listed, or capacity not restored")
else:
    fail("%s is not a PCI node device: Nova's sysfs path has no PCI address" % pname)

sys.exit(1 if errors else 0)
