// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit fixtures: small private caches and memory-backed parts, freed by
 * KUnit resource actions when the test case ends.
 */
#include <kunit/test.h>
#include <kunit/resource.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>

#include "fake_disk.h"

struct pending_load {
	struct list_head entry;
	struct dcache_block *b;
};

/* Each block of a fresh fake disk is filled with this byte. */
u8 fake_block_byte(u16 part, u64 addr)
{
	return (u8)(addr * 7 + part * 31 + 1);
}

static void fake_load(struct fake_disk *d, struct dcache_block *b)
{
	atomic_inc(&d->reads);
	if (d->fail_reads || b->addr >= d->nr_blocks) {
		dcache_load_end(b, -EIO);
		return;
	}
	memcpy(dcache_block_data(b), d->data + b->addr * d->block_size,
	       d->block_size);
	dcache_load_end(b, 0);
}

/*
 * What one backing read of a miss run (dcache_pin_uncached_run) puts in
 * its @n blocks; the caller ends the load. 0 or -EIO. A failing disk
 * fails it half way, as a real one may: the first half of the blocks hold
 * the disk's data, the rest bytes of 0xa5, and none may be served.
 */
int fake_disk_fill_run(struct fake_disk *d, struct dcache_block **run, unsigned int n)
{
	unsigned int i, good = d->fail_reads ? n / 2 : n;

	atomic_inc(&d->reads);
	if (run[n - 1]->addr >= d->nr_blocks)
		return -EIO;
	for (i = 0; i < n; i++) {
		if (i < good)
			memcpy(dcache_block_data(run[i]),
			       d->data + run[i]->addr * d->block_size, d->block_size);
		else
			memset(dcache_block_data(run[i]), 0xa5, d->block_size);
	}
	return good < n ? -EIO : 0;
}

static void fake_work(struct work_struct *work)
{
	struct fake_disk *d = container_of(work, struct fake_disk, work);
	struct pending_load *p;

	for (;;) {
		spin_lock_irq(&d->lock);
		p = list_first_entry_or_null(&d->pending, struct pending_load, entry);
		if (p && !d->hold)
			list_del(&p->entry);
		else
			p = NULL;
		spin_unlock_irq(&d->lock);
		if (!p)
			return;
		fake_load(d, p->b);
		kfree(p);
	}
}

static void fake_submit_read(struct dcache_part *part, struct dcache_block *b)
{
	struct fake_disk *d = part->private;
	struct pending_load *p;

	if (!d->async) {
		fake_load(d, b);
		return;
	}
	p = kzalloc(sizeof(*p), GFP_NOIO | __GFP_NOFAIL);
	p->b = b;
	spin_lock_irq(&d->lock);
	list_add_tail(&p->entry, &d->pending);
	spin_unlock_irq(&d->lock);
	queue_work(d->wq, &d->work);
}

struct pending_write {
	struct list_head entry;
	struct dcache_wb_block *first;
	unsigned int n;
	bool fua;
};

static void fake_do_write(struct fake_disk *d, struct dcache_wb_block *first,
			  unsigned int n, bool fua, int error)
{
	unsigned int i;

	if (!error && d->fail_writes)
		error = -EIO;
	for (i = 0; !error && i < n; i++) {
		u64 addr = first[i].b->addr;
		void *src = page_address(first[i].page);

		if (addr >= d->nr_blocks) {
			error = -EIO;
			break;
		}
		memcpy(d->data + addr * d->block_size, src, d->block_size);
		atomic_inc(&d->writes);
		if (d->hooks && d->hooks->write)
			d->hooks->write(d->hooks_ctx, d, addr, src);
		/* After the hook: it sees the write land on the durable image. */
		if (fua)
			memcpy(d->durable + addr * d->block_size, src, d->block_size);
	}
	dcache_write_end(first, n, error);
}

static void fake_submit_write(struct dcache_part *part,
			      struct dcache_wb_block *first, unsigned int n, bool fua)
{
	struct fake_disk *d = part->private;
	struct pending_write *p = kzalloc(sizeof(*p), GFP_NOIO | __GFP_NOFAIL);

	if (fua)
		atomic_add(n, &d->fua_writes);
	p->first = first;
	p->n = n;
	p->fua = fua;
	spin_lock_irq(&d->lock);
	if (d->hold_writes) {
		list_add_tail(&p->entry, &d->pending_writes);
		atomic_add(n, &d->held_writes);
		p = NULL;
	}
	spin_unlock_irq(&d->lock);
	if (p) {
		fake_do_write(d, first, n, fua, 0);
		kfree(p);
	}
}

/* End every write in flight: performed, or failed with @error. */
void fake_disk_end_writes(struct fake_disk *d, int error)
{
	struct pending_write *p, *tmp;
	LIST_HEAD(list);

	spin_lock_irq(&d->lock);
	list_splice_init(&d->pending_writes, &list);
	atomic_set(&d->held_writes, 0);
	spin_unlock_irq(&d->lock);
	list_for_each_entry_safe(p, tmp, &list, entry) {
		fake_do_write(d, p->first, p->n, p->fua, error);
		kfree(p);
	}
}

static int fake_flush(struct dcache_part *part)
{
	struct fake_disk *d = part->private;

	if (d->fail_flushes)
		return -EIO;
	memcpy(d->durable, d->data, d->nr_blocks * d->block_size);
	atomic_inc(&d->flushes);
	if (d->hooks && d->hooks->flush)
		d->hooks->flush(d->hooks_ctx, d);
	return 0;
}

static void fake_submit_flush(struct dcache_part *part, struct dcache_writer *wr)
{
	dcache_flush_end(wr, fake_flush(part));
}

static int fake_discard(struct dcache_part *part, u64 addr, u64 nr)
{
	struct fake_disk *d = part->private;

	if (addr >= d->nr_blocks)
		return -EIO;
	nr = min(nr, d->nr_blocks - addr);
	memset(d->data + addr * d->block_size, 0, nr * d->block_size);
	if (d->hooks && d->hooks->discard)
		d->hooks->discard(d->hooks_ctx, d, addr, nr);
	return 0;
}

static bool fake_has_volatile_cache(struct dcache_part *part)
{
	struct fake_disk *d = part->private;

	return d->volatile_cache;
}

static bool fake_has_fua(struct dcache_part *part)
{
	struct fake_disk *d = part->private;

	return d->fua;
}

static const struct dcache_part_ops fake_ops = {
	.submit_read = fake_submit_read,
	.submit_write = fake_submit_write,
	.flush = fake_flush,
	.submit_flush = fake_submit_flush,
	.discard = fake_discard,
	.has_volatile_cache = fake_has_volatile_cache,
	.has_fua = fake_has_fua,
};

/* Let held asynchronous loads complete. */
void fake_disk_release(struct fake_disk *d)
{
	spin_lock_irq(&d->lock);
	d->hold = false;
	spin_unlock_irq(&d->lock);
	queue_work(d->wq, &d->work);
	flush_workqueue(d->wq);
}

struct deferred_call {
	void (*fn)(void *arg);
	void *arg;
};

static int deferred_init(struct kunit_resource *res, void *context)
{
	res->data = context;
	return 0;
}

static void deferred_run(struct kunit_resource *res)
{
	struct deferred_call *call = res->data;

	call->fn(call->arg);
	kfree(call);
}

/* Run fn(arg) when the test case ends (last deferred, first run); now on failure. */
int kunit_defer(struct kunit *test, void (*fn)(void *arg), void *arg)
{
	struct deferred_call *call = kmalloc(sizeof(*call), GFP_KERNEL);

	if (call) {
		call->fn = fn;
		call->arg = arg;
		if (kunit_alloc_resource(test, deferred_init, deferred_run,
					 GFP_KERNEL, call))
			return 0;
		kfree(call);
	}
	fn(arg);
	return -ENOMEM;
}

static void fake_cache_free(void *c)
{
	dcache_destroy(c);
}

/*
 * Mark @b, held exclusive, dirty as a writer in epoch @epoch would
 * (dcache_mark_dirty in write-back mode): the open epoch is @epoch for
 * the call and goes back after it, so tests set epochs out of order.
 */
void fake_mark_dirty_in(struct dcache_block *b, u64 epoch)
{
	struct dcache *c = b->cache;
	struct dcache_part *part;
	u64 open;

	mutex_lock(&c->lock);
	part = xa_load(&c->parts, b->part_id);
	open = *part->epoch;
	*part->epoch = epoch;
	mutex_unlock(&c->lock);
	WARN_ON(dcache_mark_dirty(b, false, NULL));
	mutex_lock(&c->lock);
	*part->epoch = open;
	mutex_unlock(&c->lock);
}

/* A private cache, destroyed when the test case ends. */
struct dcache *fake_cache_cfg(struct kunit *test, const struct dcache_config *cfg)
{
	struct dcache *c = dcache_create(cfg);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(c), "dcache_create: %ld", PTR_ERR(c));
	KUNIT_ASSERT_EQ(test, 0, kunit_defer(test, fake_cache_free, c));
	return c;
}

struct dcache *fake_cache(struct kunit *test, u64 nr_blocks,
			  unsigned int block_size, unsigned int hash_buckets)
{
	struct dcache_config cfg = {
		.nr_blocks = nr_blocks,
		.block_size = block_size,
		.hash_buckets = hash_buckets,
	};

	return fake_cache_cfg(test, &cfg);
}

static void fake_disk_free(void *ptr)
{
	struct fake_disk *d = ptr;

	fake_disk_release(d);
	destroy_workqueue(d->wq);
	/* The part may already be gone if the test removed it. */
	/* Tests may end with dirty blocks: they are not written anywhere. */
	if (d->part) {
		dcache_drop_part_dirty(d->part);
		WARN_ON(dcache_remove_part(d->part));
	}
	vfree(d->data);
	vfree(d->durable);
	kfree(d);
}

struct fake_disk *fake_disk_add(struct kunit *test, struct dcache *c,
				u64 nr_blocks)
{
	struct fake_disk *d;
	u64 i;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	d->block_size = c->block_size;
	d->nr_blocks = nr_blocks;
	d->data = vmalloc(nr_blocks * d->block_size);
	d->durable = vmalloc(nr_blocks * d->block_size);
	d->volatile_cache = true;
	INIT_LIST_HEAD(&d->pending);
	INIT_LIST_HEAD(&d->pending_writes);
	spin_lock_init(&d->lock);
	INIT_WORK(&d->work, fake_work);
	d->wq = alloc_workqueue("fake_disk", WQ_UNBOUND, 0);
	if (!d->data || !d->durable || !d->wq) {
		if (d->wq)
			destroy_workqueue(d->wq);
		vfree(d->data);
		vfree(d->durable);
		kfree(d);
		KUNIT_ASSERT_FAILURE(test, "fake disk allocation failed");
	}
	d->part = dcache_add_part(c, NULL, c->block_size, &fake_ops, d);
	if (IS_ERR(d->part)) {
		d->part = NULL;
		fake_disk_free(d);
		KUNIT_ASSERT_FAILURE(test, "dcache_add_part failed");
	}
	for (i = 0; i < nr_blocks; i++)
		memset(d->data + i * d->block_size,
		       fake_block_byte(d->part->id, i), d->block_size);
	memcpy(d->durable, d->data, nr_blocks * d->block_size);
	KUNIT_ASSERT_EQ(test, 0, kunit_defer(test, fake_disk_free, d));
	return d;
}

static unsigned int fake_flush_delay_ms = 3600000;	/* rounds only when asked */

static void fake_flusher_free(void *fl)
{
	dcache_flusher_destroy(fl);
}

/* The real flusher over a private cache, destroyed when the test ends. */
struct dcache_flusher *fake_flusher(struct kunit *test, struct dcache *c)
{
	struct dcache_flusher *fl = dcache_flusher_create(c, &fake_flush_delay_ms);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(fl), "flusher: %ld", PTR_ERR(fl));
	KUNIT_ASSERT_EQ(test, 0, kunit_defer(test, fake_flusher_free, fl));
	return fl;
}

static void fake_writer_free(void *ptr)
{
	struct fake_disk *d = ptr;

	d->hold_writes = false;
	fake_disk_end_writes(d, -EIO);
	dcache_writer_stop(d->writer);
	dcache_drop_part_dirty(d->part);
	dcache_writer_destroy(d->writer);
	d->writer = NULL;
}

/* A writer for @d's part on flusher @fl, in its rounds from now on. */
struct dcache_writer *fake_writer(struct kunit *test, struct dcache_flusher *fl,
				  struct fake_disk *d)
{
	d->writer = dcache_writer_create(fl, d->part, "fake");
	KUNIT_ASSERT_NOT_NULL(test, d->writer);
	dcache_writer_start(d->writer);
	KUNIT_ASSERT_EQ(test, 0, kunit_defer(test, fake_writer_free, d));
	return d->writer;
}
