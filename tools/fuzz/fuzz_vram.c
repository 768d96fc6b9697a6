// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: BAR2, the VRAM slice (kernel/vram.c, compiled unchanged):
 * mgpu_vram_range_ok(), region reads and writes, mmap and page faults,
 * the scrub on close.
 *
 * Input: u64 VRAM size, u64 address, u64 length for mgpu_vram_range_ok()
 * (zero-padded); then, if there is more, a byte of slice geometry and
 * operations of five bytes (a kind, two u16 arguments) on a slice of 1
 * to 16 pages placed among other pages of paged VRAM (pvram.c).
 *
 * Oracle: range_ok against 128-bit arithmetic.  For the slice, a model
 * of its bytes (never touched reads zero) and Documentation/
 * device-model.rst and the comments of vram.c: a mapping must be shared,
 * not executable, inside BAR2, and is made unexecutable and not
 * expandable for good; a fault maps exactly the page of the slice that
 * the address and the mapping's offset name (after the mapping was
 * split, too), and nothing outside the slice ever reaches the backend.
 */
#include "pvram.h"

#define MAX_PAGES	16
#define BAR2_PGOFF	((u64)VFIO_PCI_BAR2_REGION_INDEX << \
			 (MGPU_REGION_SHIFT - PAGE_SHIFT))
#define VM_BASE		0x7f0000000000UL

static struct pvram pv;
static struct mgpu_vgpu vgpu;
static u8 model[MAX_PAGES * PAGE_SIZE];
static struct vm_area_struct vma;
static struct address_space mapping;
static struct file file = { .f_mapping = &mapping };
static bool mapped;
static unsigned long inserted_pfn, inserted_addr;

vm_fault_t vmf_insert_pfn(struct vm_area_struct *v, unsigned long addr,
			  unsigned long pfn)
{
	FUZZ_CHECK(v == &vma && !(addr & ~PAGE_MASK), "insert at %#lx", addr);
	inserted_pfn = pfn;
	inserted_addr = addr;
	return VM_FAULT_NOPAGE;
}

static void check_range_ok(const u8 *data, size_t size)
{
	u64 in[3] = { 0 };
	bool ok, want;

	memcpy(in, data, min_t(size_t, size, sizeof(in)));
	ok = mgpu_vram_range_ok(in[0], in[1], in[2]);
	/* [addr, addr + len) inside [0, vram_size) */
	want = (u128)in[1] + in[2] <= in[0];
	FUZZ_CHECK(ok == want, "vram %#llx addr %#llx len %#llx: %d",
		   (unsigned long long)in[0], (unsigned long long)in[1],
		   (unsigned long long)in[2], ok);
}

static void do_mmap(u8 kind, u16 a, u16 b)
{
	u64 slice = vgpu.vram_size, pos = (u64)(a >> 8) * PAGE_SIZE;
	u64 len = (u64)(1 + b % (MAX_PAGES + 2)) * PAGE_SIZE;
	bool shared = kind & 0x10, exec = kind & 0x20, want;
	int ret;

	memset(&vma, 0, sizeof(vma));
	vma.vm_file = &file;
	vma.vm_start = VM_BASE + (u64)(a & 0xff) * PAGE_SIZE;
	vma.vm_end = vma.vm_start + len;
	vma.vm_pgoff = BAR2_PGOFF | pos >> PAGE_SHIFT;
	vma.vm_flags = (shared ? VM_SHARED : 0) | (exec ? VM_EXEC : 0) |
		       VM_MAYEXEC;
	ret = mgpu_vram_mmap(&vgpu, pos, &vma);
	want = shared && !exec && pos + len <= slice;
	FUZZ_CHECK(!ret == want, "mmap of %#llx at %#llx: %d",
		   (unsigned long long)len, (unsigned long long)pos, ret);
	mapped = !ret;
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL, "mmap error %d", ret);
		return;
	}
	FUZZ_CHECK((vma.vm_flags & (VM_IO | VM_PFNMAP | VM_DONTEXPAND |
				    VM_DONTDUMP)) ==
		   (VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP) &&
		   !(vma.vm_flags & (VM_MAYEXEC | VM_EXEC)),
		   "vm_flags %#lx", vma.vm_flags);
	FUZZ_CHECK(vma.vm_ops && vma.vm_ops->fault &&
		   vma.vm_private_data == &vgpu, "vm_ops");
}

static void do_fault(u16 a)
{
	u64 npages = (vma.vm_end - vma.vm_start) / PAGE_SIZE, off;
	struct vm_fault vmf = { .vma = &vma };
	vm_fault_t ret;

	vmf.address = vma.vm_start + (a % npages) * PAGE_SIZE + (a >> 4);
	if (vmf.address >= vma.vm_end)
		vmf.address = vma.vm_end - 1;
	/* The slice offset the mapping says this address is. */
	off = ((vma.vm_pgoff & ~BAR2_PGOFF) << PAGE_SHIFT) +
	      ((vmf.address & PAGE_MASK) - vma.vm_start);
	inserted_pfn = 0;
	ret = vma.vm_ops->fault(&vmf);
	if (off >= vgpu.vram_size) {
		FUZZ_CHECK(ret == VM_FAULT_SIGBUS && !inserted_pfn,
			   "fault beyond the slice: %#x", ret);
		return;
	}
	FUZZ_CHECK(ret == VM_FAULT_NOPAGE, "fault returned %#x", ret);
	FUZZ_CHECK(inserted_addr == (vmf.address & PAGE_MASK) &&
		   inserted_pfn == PVRAM_PFN_BASE +
		   ((pv.slice_off + off) >> PAGE_SHIFT),
		   "fault at slice offset %#llx mapped pfn %#lx",
		   (unsigned long long)off, inserted_pfn);
}

/* VRAM holds what the model says; an untouched page reads as zero. */
static void check_model(void)
{
	static const u8 zero[PAGE_SIZE];
	u64 p;
	u8 *page;

	for (p = 0; p < vgpu.vram_size / PAGE_SIZE; p++) {
		page = pv.pages[(pv.slice_off >> PAGE_SHIFT) + p];
		FUZZ_CHECK(!memcmp(page ? page : zero, model + p * PAGE_SIZE,
				   PAGE_SIZE), "VRAM page %llu",
			   (unsigned long long)p);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u8 buf[MAX_PAGES * PAGE_SIZE], got[MAX_PAGES * PAGE_SIZE];
	u64 slice, pos, count, i, k;
	size_t in = 25;
	ssize_t ret;
	u16 a, b;
	u8 kind;

	check_range_ok(data, size);
	if (size <= 24)
		return 0;

	slice = (u64)(1 + data[24] % MAX_PAGES) * PAGE_SIZE;
	pvram_init(&pv, slice + (2 + data[24] / MAX_PAGES) * PAGE_SIZE,
		   (1 + data[24] / MAX_PAGES) * PAGE_SIZE, slice);
	memset(&vgpu, 0, sizeof(vgpu));
	vgpu.parent = &pv.parent;
	vgpu.vram_offset = pv.slice_off;
	vgpu.vram_size = slice;
	/* Memory space on: BAR2 answers (mgpu_cfg_mem_enabled()). */
	vgpu.cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	memset(model, 0, sizeof(model));
	mapped = false;

	while (in + 5 <= size) {
		kind = data[in];
		a = data[in + 1] | data[in + 2] << 8;
		b = data[in + 3] | data[in + 4] << 8;
		in += 5;
		/* The VFIO core checks region accesses against the size. */
		pos = a % slice;
		count = min_t(u64, b, slice - pos);
		switch (kind % 6) {
		case 0:	/* region read */
			ret = mgpu_vram_rw(&vgpu, pos, (char *)got, count,
					   false);
			FUZZ_CHECK(ret == (ssize_t)count, "read returned %zd", ret);
			FUZZ_CHECK(!memcmp(got, model + pos, count),
				   "read of %llu at %#llx",
				   (unsigned long long)count,
				   (unsigned long long)pos);
			break;
		case 1:	/* region write */
			for (i = 0; i < count; i++)
				buf[i] = (u8)(kind + i * 7);
			ret = mgpu_vram_rw(&vgpu, pos, (char *)buf, count,
					   true);
			FUZZ_CHECK(ret == (ssize_t)count, "write returned %zd", ret);
			memcpy(model + pos, buf, count);
			break;
		case 2:
			do_mmap(kind, a, b);
			break;
		case 3:
			if (mapped)
				do_fault(a);
			break;
		case 4:	/* munmap of the first pages splits the mapping */
			k = (vma.vm_end - vma.vm_start) / PAGE_SIZE;
			if (!mapped || k < 2)
				break;
			k = 1 + a % (k - 1);
			vma.vm_start += k * PAGE_SIZE;
			vma.vm_pgoff += k;
			break;
		case 5:	/* the user closed the device: scrub */
			mgpu_vram_discard(&vgpu);
			memset(model, 0, sizeof(model));
			FUZZ_CHECK(!pv.nr_backed, "pages left after discard");
			break;
		}
		check_model();
	}
	pvram_fini(&pv);
	return 0;
}
