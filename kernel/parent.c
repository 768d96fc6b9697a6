// SPDX-License-Identifier: GPL-2.0
/*
 * A parent GPU: the capacity that vGPUs are carved from, its mdev types
 * and its registration with the mdev core.  Backend-neutral: nothing here
 * knows whether VRAM is host memory or a PCI BAR.
 */
#include <linux/bitops.h>
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>
#include <linux/wait_bit.h>

#include "mgpu_drv.h"

/*
 * Type names are ABI: libvirt, mdevctl, Nova and KubeVirt key on them.
 * The sysfs directory is "<driver or class name>-<sysfs_name>", so the
 * software GPU's types are mgpu-passthrough, mgpu-1_2, ... mgpu-1_16.
 */
static const struct {
	const char *sysfs_name;
	const char *pretty_name;
} mgpu_type_names[MGPU_NR_TYPES] = {
	{ "passthrough",	"mgpu passthrough" },
	{ "1_2",		"mgpu 1/2" },
	{ "1_4",		"mgpu 1/4" },
	{ "1_8",		"mgpu 1/8" },
	{ "1_16",		"mgpu 1/16" },
};

static unsigned int mgpu_type_units(const struct mgpu_type *type)
{
	return MGPU_UNITS >> type->order;
}

static u32 mgpu_units_mask(unsigned int first, unsigned int nr)
{
	return GENMASK(first + nr - 1, first);
}

/**
 * mgpu_parent_type_vram_size() - VRAM of one instance of @type
 * @type: the type
 *
 * Return: bytes of VRAM.
 */
u64 mgpu_parent_type_vram_size(const struct mgpu_type *type)
{
	return type->parent->vram_size >> type->order;
}

/**
 * mgpu_parent_type_nr_queues() - command queues of one instance of @type
 * @type: the type
 *
 * Return: number of queues.
 */
u32 mgpu_parent_type_nr_queues(const struct mgpu_type *type)
{
	return type->parent->nr_queues >> type->order;
}

/* Number of free aligned blocks of @nr units: exactly how many more fit. */
static unsigned int mgpu_parent_free_blocks(struct mgpu_parent *parent,
					    unsigned int nr)
{
	unsigned int first, n = 0;

	lockdep_assert_held(&parent->lock);

	for (first = 0; first < MGPU_UNITS; first += nr)
		if (!(parent->units_used & mgpu_units_mask(first, nr)))
			n++;
	return n;
}

static __printf(2, 3) void mgpu_parent_set_error(struct mgpu_parent *parent,
				  const char *fmt, ...)
{
	va_list args;

	lockdep_assert_held(&parent->lock);

	va_start(args, fmt);
	vsnprintf(parent->last_error, sizeof(parent->last_error), fmt, args);
	va_end(args);
	dev_warn_ratelimited(parent->dev, "create failed: %s\n",
			     parent->last_error);
}

/**
 * mgpu_parent_claim() - reserve capacity for one instance of @type
 * @parent: the parent GPU
 * @type: the type of the new instance
 * @first_unit: the first unit reserved, on success
 *
 * Picks the lowest free block of the type's size that is aligned to that
 * size.  On failure, records a readable reason in the parent's last_error
 * attribute and the kernel log.
 *
 * Return: 0 on success, -ENOSPC when no block of that size is free.
 */
int mgpu_parent_claim(struct mgpu_parent *parent, struct mgpu_type *type,
		      unsigned int *first_unit)
{
	unsigned int nr = mgpu_type_units(type);
	unsigned int first, free_units;
	const char *tname = type->mdev_type.sysfs_name;

	mutex_lock(&parent->lock);
	for (first = 0; first < MGPU_UNITS; first += nr) {
		u32 mask = mgpu_units_mask(first, nr);

		if (parent->units_used & mask)
			continue;
		parent->units_used |= mask;
		parent->nr_instances++;
		if (!type->order)
			parent->nr_passthrough++;
		parent->last_error[0] = '\0';
		*first_unit = first;
		mutex_unlock(&parent->lock);
		return 0;
	}

	free_units = MGPU_UNITS - hweight32(parent->units_used);
	if (parent->nr_passthrough)
		mgpu_parent_set_error(parent,
				      "no capacity for type %s: the parent is in use by a passthrough instance; remove it first",
				      tname);
	else if (!type->order)
		mgpu_parent_set_error(parent,
				      "no capacity for type %s: passthrough needs an empty parent, %u instance(s) exist",
				      tname, parent->nr_instances);
	else if (free_units >= nr)
		mgpu_parent_set_error(parent,
				      "no capacity for type %s: %u/16 of the GPU is free but fragmented, no aligned %u/16 slice; remove smaller instances",
				      tname, free_units, nr);
	else
		mgpu_parent_set_error(parent,
				      "no capacity for type %s: needs %u/16 of the GPU, %u/16 free (%u instance(s) exist)",
				      tname, nr, free_units, parent->nr_instances);
	mutex_unlock(&parent->lock);
	return -ENOSPC;
}

/**
 * mgpu_parent_release() - return the capacity of one instance
 * @parent: the parent GPU
 * @type: the type of the instance
 * @first_unit: its first unit, as returned by mgpu_parent_claim()
 */
void mgpu_parent_release(struct mgpu_parent *parent, struct mgpu_type *type,
			 unsigned int first_unit)
{
	u32 mask = mgpu_units_mask(first_unit, mgpu_type_units(type));

	mutex_lock(&parent->lock);
	WARN_ON((parent->units_used & mask) != mask);
	parent->units_used &= ~mask;
	parent->nr_instances--;
	if (!type->order)
		parent->nr_passthrough--;
	mutex_unlock(&parent->lock);
}

/* mdev core callbacks (through mgpu_mdev_driver) */

static struct mgpu_type *to_mgpu_type(struct mdev_type *mtype)
{
	return container_of(mtype, struct mgpu_type, mdev_type);
}

/**
 * mgpu_parent_get_available() - mdev_driver.get_available
 * @mtype: the type
 *
 * Return: how many more instances of @mtype can be created right now.
 */
unsigned int mgpu_parent_get_available(struct mdev_type *mtype)
{
	struct mgpu_type *type = to_mgpu_type(mtype);
	struct mgpu_parent *parent = type->parent;
	unsigned int n;

	mutex_lock(&parent->lock);
	n = mgpu_parent_free_blocks(parent, mgpu_type_units(type));
	mutex_unlock(&parent->lock);
	return n;
}

/**
 * mgpu_parent_show_description() - mdev_driver.show_description
 * @mtype: the type
 * @buf: sysfs buffer
 *
 * Return: bytes written to @buf.
 */
ssize_t mgpu_parent_show_description(struct mdev_type *mtype, char *buf)
{
	struct mgpu_type *type = to_mgpu_type(mtype);

	return sysfs_emit(buf, "vram=%lluM, queues=%u, max_instances=%u\n",
			  mgpu_parent_type_vram_size(type) >> 20,
			  mgpu_parent_type_nr_queues(type), 1U << type->order);
}

/* Parent attributes, on the parent's device. */

static struct mgpu_parent *dev_to_parent(struct device *dev)
{
	return dev_get_drvdata(dev);
}

static ssize_t vram_size_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", dev_to_parent(dev)->vram_size);
}
static DEVICE_ATTR_RO(vram_size);

static ssize_t vram_resident_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	struct mgpu_parent *parent = dev_to_parent(dev);

	return sysfs_emit(buf, "%llu\n", parent->ops->vram_resident(parent));
}
static DEVICE_ATTR_RO(vram_resident);

static ssize_t queues_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", dev_to_parent(dev)->nr_queues);
}
static DEVICE_ATTR_RO(queues);

static ssize_t backend_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", dev_to_parent(dev)->ops->name);
}
static DEVICE_ATTR_RO(backend);

static ssize_t last_error_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct mgpu_parent *parent = dev_to_parent(dev);
	ssize_t ret;

	mutex_lock(&parent->lock);
	ret = sysfs_emit(buf, "%s\n", parent->last_error);
	mutex_unlock(&parent->lock);
	return ret;
}
static DEVICE_ATTR_RO(last_error);

static ssize_t sched_policy_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  mgpu_sched_policy_name(&dev_to_parent(dev)->engine));
}

static ssize_t sched_policy_store(struct device *dev,
				  struct device_attribute *attr,
				  const char *buf, size_t count)
{
	int ret = mgpu_sched_set_policy(&dev_to_parent(dev)->engine, buf);

	return ret ? ret : count;
}
static DEVICE_ATTR_RW(sched_policy);

static ssize_t time_slice_us_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  READ_ONCE(dev_to_parent(dev)->engine.slice_ns) /
			  NSEC_PER_USEC);
}

static ssize_t time_slice_us_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t count)
{
	u32 us;
	int ret = kstrtou32(buf, 0, &us);

	if (!ret)
		ret = mgpu_sched_set_slice(&dev_to_parent(dev)->engine, us);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(time_slice_us);

static ssize_t engine_busy_ns_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  READ_ONCE(dev_to_parent(dev)->engine.busy_ns));
}
static DEVICE_ATTR_RO(engine_busy_ns);

static ssize_t utilization_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  mgpu_sched_utilization(&dev_to_parent(dev)->engine,
						 ktime_get_ns()));
}
static DEVICE_ATTR_RO(utilization);

static ssize_t engines_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", dev_to_parent(dev)->engine.nr_threads);
}
static DEVICE_ATTR_RO(engines);

static struct attribute *mgpu_parent_attrs[] = {
	&dev_attr_vram_size.attr,
	&dev_attr_vram_resident.attr,
	&dev_attr_queues.attr,
	&dev_attr_backend.attr,
	&dev_attr_last_error.attr,
	&dev_attr_sched_policy.attr,
	&dev_attr_time_slice_us.attr,
	&dev_attr_engine_busy_ns.attr,
	&dev_attr_utilization.attr,
	&dev_attr_engines.attr,
	NULL,
};

static const struct attribute_group mgpu_parent_group = {
	.attrs = mgpu_parent_attrs,
};

/*
 * Attribute groups for a parent's device (the mgpu PCI driver's device
 * attributes).  The device's drvdata must be the struct mgpu_parent
 * before the groups are added.
 */
const struct attribute_group *mgpu_parent_groups[] = {
	&mgpu_parent_group,
	NULL,
};

/* The types of a parent, as the mdev core expects them before registration. */
static void mgpu_parent_init_types(struct mgpu_parent *parent)
{
	unsigned int i;

	for (i = 0; i < MGPU_NR_TYPES; i++) {
		struct mgpu_type *type = &parent->types[i];

		memset(&type->mdev_type, 0, sizeof(type->mdev_type));
		type->mdev_type.sysfs_name = mgpu_type_names[i].sysfs_name;
		type->mdev_type.pretty_name = mgpu_type_names[i].pretty_name;
		type->parent = parent;
		type->order = i;
		parent->mdev_types[i] = &type->mdev_type;
	}
}

/* Parents whose last reference is not dropped yet; module unload waits. */
static atomic_t mgpu_parents_alive = ATOMIC_INIT(0);

/**
 * mgpu_parent_init() - set up a parent before its device exists
 * @parent: the parent, zeroed, embedded in the backend's structure
 * @ops: backend operations
 * @vram_size: bytes of VRAM (a power of two, checked by the backend)
 * @nr_queues: command queues (a power of two, checked by the backend)
 * @nr_engines: engine threads, 1 to MGPU_MAX_ENGINES (checked by the
 *	backend)
 *
 * Everything the parent's sysfs attributes reach is valid on return, so
 * the backend may make its PCI function appear right after.
 * The caller holds the first reference; it drops it with
 * mgpu_parent_put() after mgpu_parent_unregister() (or, if registration
 * never happened, instead of it).
 *
 * Return: 0, -EINVAL (@nr_engines out of range) or -ENOMEM.
 */
int mgpu_parent_init(struct mgpu_parent *parent,
		     const struct mgpu_backend_ops *ops, u64 vram_size,
		     u32 nr_queues, unsigned int nr_engines)
{
	int ret;

	parent->ops = ops;
	parent->vram_size = vram_size;
	parent->nr_queues = nr_queues;
	mutex_init(&parent->lock);
	mgpu_parent_init_types(parent);
	ret = mgpu_engine_init(parent, nr_engines);
	if (ret) {
		mutex_destroy(&parent->lock);
		return ret;
	}
	kref_init(&parent->ref);
	atomic_inc(&mgpu_parents_alive);
	return 0;
}

/**
 * mgpu_parent_get() - take a reference to a parent
 * @parent: the parent
 */
void mgpu_parent_get(struct mgpu_parent *parent)
{
	kref_get(&parent->ref);
}

static void mgpu_parent_free(struct kref *ref)
{
	struct mgpu_parent *parent = container_of(ref, struct mgpu_parent,
						  ref);

	WARN_ON(parent->nr_instances);
	mgpu_engine_fini(parent);
	mutex_destroy(&parent->lock);
	parent->ops->release(parent);
	if (atomic_dec_and_test(&mgpu_parents_alive))
		wake_up_var(&mgpu_parents_alive);
}

/**
 * mgpu_parent_put() - drop a reference to a parent
 * @parent: the parent
 *
 * The last reference frees it through the backend's release operation.
 */
void mgpu_parent_put(struct mgpu_parent *parent)
{
	kref_put(&parent->ref, mgpu_parent_free);
}

/**
 * mgpu_parent_wait_all() - wait until every parent is freed
 *
 * Module unload calls this after removing its parents: a vfio_device
 * released late still runs our release callback, which must find both
 * its parent and this module's code.
 */
void mgpu_parent_wait_all(void)
{
	if (atomic_read(&mgpu_parents_alive))
		pr_info("unload waits for %d parent(s) still referenced by VFIO devices\n",
			atomic_read(&mgpu_parents_alive));
	wait_var_event(&mgpu_parents_alive, !atomic_read(&mgpu_parents_alive));
}

/**
 * mgpu_parent_register() - make the parent's types visible to the mdev core
 * @parent: the parent, after mgpu_parent_init()
 * @dev: the device whose mdev_supported_types/ will list the types: the
 *	parent's PCI function, bound to the mgpu PCI driver (pci.c)
 *
 * A parent may be registered again after mgpu_parent_unregister().
 *
 * Return: 0 or a negative errno.
 */
int mgpu_parent_register(struct mgpu_parent *parent, struct device *dev)
{
	int ret;

	/*
	 * A parent is registered again when its PCI function is bound again
	 * (unbind and bind, or remove and rescan through sysfs).  The mdev
	 * core embeds a kobject in each type, released when the previous
	 * registration went: start each registration from clean types.
	 */
	mgpu_parent_init_types(parent);
	parent->dev = dev;
	ret = mgpu_engine_start(parent);
	if (ret)
		return ret;
	ret = mdev_register_parent(&parent->mdev_parent, dev,
				   &mgpu_mdev_driver, parent->mdev_types,
				   MGPU_NR_TYPES);
	if (ret)
		goto err_engine;
	return 0;

err_engine:
	mgpu_engine_stop(parent);
	parent->dev = NULL;
	return ret;
}

/**
 * mgpu_parent_unregister() - remove every instance and the types
 * @parent: a registered parent
 *
 * Blocks while an instance is open by a user, who is asked to release it
 * through the VFIO request interrupt.  The parent's sysfs attributes stay
 * usable until the backend removes its device; the parent itself lives
 * until its last reference is dropped.
 */
void mgpu_parent_unregister(struct mgpu_parent *parent)
{
	mdev_unregister_parent(&parent->mdev_parent);
	mgpu_engine_stop(parent);
	parent->dev = NULL;
}
