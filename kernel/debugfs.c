// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs: /sys/kernel/debug/mgpu/<instance UUID>/, for tests and for a
 * developer's eyes; no tool depends on it.
 *
 * vram_dirty (root only): VRAM dirty tracking, the record live migration
 * reads (vram.c).  Write "on" to start (or restart: the record is
 * cleared), "off" to stop.  A read takes the record: one line per run of
 * written pages, "FIRST-LAST" or "PAGE" (page numbers of the slice, 4 KiB
 * pages, decimal), or "off" while tracking is off; the pages read are
 * write-protected again, as for a migration pass.
 *
 * migration (read-only): the last migration session of the instance
 * (struct mgpu_mig_stats), "KEY VALUE" lines: precopy_bytes and
 * stopcopy_bytes (stream bytes read while the device ran, and after it
 * stopped), stopcopy_us (from the stop to the end of the stream read: the
 * device's part of the downtime; 0 while unfinished), resumed_bytes
 * (stream bytes written into this instance).  make bench reads it.
 */
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mgpu_drv.h"

static struct dentry *mgpu_debugfs_root;

static int mgpu_debugfs_dirty_show(struct seq_file *m, void *unused)
{
	struct mgpu_vgpu *vgpu = m->private;
	u64 pages = vgpu->vram_size >> PAGE_SHIFT;
	unsigned long first, last, *out;

	out = bitmap_zalloc(pages, GFP_KERNEL_ACCOUNT);
	if (!out)
		return -ENOMEM;
	mutex_lock(&vgpu->lock);
	if (!vgpu->vram_dirty) {
		mutex_unlock(&vgpu->lock);
		bitmap_free(out);
		seq_puts(m, "off\n");
		return 0;
	}
	mgpu_vram_dirty_sync(vgpu, out);
	mutex_unlock(&vgpu->lock);
	for_each_set_bitrange(first, last, out, pages) {
		if (last - first == 1)
			seq_printf(m, "%lu\n", first);
		else
			seq_printf(m, "%lu-%lu\n", first, last - 1);
	}
	bitmap_free(out);
	return 0;
}

static int mgpu_debugfs_dirty_open(struct inode *inode, struct file *file)
{
	return single_open(file, mgpu_debugfs_dirty_show, inode->i_private);
}

static ssize_t mgpu_debugfs_dirty_write(struct file *file,
					const char __user *ubuf, size_t count,
					loff_t *ppos)
{
	struct mgpu_vgpu *vgpu = file_inode(file)->i_private;
	char buf[8];
	int ret = 0;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	mutex_lock(&vgpu->lock);
	if (sysfs_streq(buf, "on"))
		ret = mgpu_vram_dirty_start(vgpu);
	else if (sysfs_streq(buf, "off"))
		mgpu_vram_dirty_stop(vgpu);
	else
		ret = -EINVAL;
	mutex_unlock(&vgpu->lock);
	return ret ? ret : count;
}

static const struct file_operations mgpu_debugfs_dirty_fops = {
	.owner = THIS_MODULE,
	.open = mgpu_debugfs_dirty_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = mgpu_debugfs_dirty_write,
};

static int mgpu_debugfs_mig_show(struct seq_file *m, void *unused)
{
	struct mgpu_vgpu *vgpu = m->private;
	const struct mgpu_mig_stats *st = &vgpu->mig_stats;

	seq_printf(m, "precopy_bytes %llu\nstopcopy_bytes %llu\n",
		   READ_ONCE(st->precopy_bytes), READ_ONCE(st->stopcopy_bytes));
	seq_printf(m, "stopcopy_us %llu\nresumed_bytes %llu\n",
		   div_u64(READ_ONCE(st->stopcopy_ns), NSEC_PER_USEC),
		   READ_ONCE(st->resumed_bytes));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mgpu_debugfs_mig);

/**
 * mgpu_debugfs_vgpu_add() - the instance's debugfs directory
 * @vgpu: the instance, registered with the VFIO core
 *
 * Failures are ignored, as debugfs wants: nothing depends on it.
 */
void mgpu_debugfs_vgpu_add(struct mgpu_vgpu *vgpu)
{
	vgpu->debugfs = debugfs_create_dir(dev_name(vgpu->vdev.dev),
					   mgpu_debugfs_root);
	debugfs_create_file("vram_dirty", 0600, vgpu->debugfs, vgpu,
			    &mgpu_debugfs_dirty_fops);
	debugfs_create_file("migration", 0400, vgpu->debugfs, vgpu,
			    &mgpu_debugfs_mig_fops);
}

/**
 * mgpu_debugfs_vgpu_remove() - remove it; waits for readers and writers
 * @vgpu: the instance
 */
void mgpu_debugfs_vgpu_remove(struct mgpu_vgpu *vgpu)
{
	debugfs_remove_recursive(vgpu->debugfs);
	vgpu->debugfs = NULL;
}

/** mgpu_debugfs_init() - /sys/kernel/debug/mgpu */
void mgpu_debugfs_init(void)
{
	mgpu_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
}

/** mgpu_debugfs_exit() - remove it, after the last instance went */
void mgpu_debugfs_exit(void)
{
	debugfs_remove_recursive(mgpu_debugfs_root);
}
