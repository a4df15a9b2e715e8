// SPDX-License-Identifier: GPL-2.0
/*
 * Write-back: the module's flush thread and the per-device flush.
 *
 * A round writes back the dirty blocks of every device, in batches: each
 * block is copied to a bounce page under its shared lock (so readers and
 * writers never wait for the disk), the copies are written in parallel,
 * and a block is marked clean only if nobody dirtied it after its copy was
 * taken. Then the backing device's write cache is flushed. A failed write
 * leaves its block dirty and the error is reported.
 *
 * Not yet: stages in epoch order and the ordered mode (next issue); every
 * dirty block of a device is written in one stage, in address order.
 *
 * Locking, outermost first:
 *   flusher.devs_lock (mutex): the device list; held for a whole round, so
 *     a device leaves the list only between rounds.
 *   dcache_dev.flush_lock (mutex): one write-back of a device at a time
 *     (round, flush request, message, suspend); guards its batch arrays.
 *   a block's lock (shared), then cache.c's locks, as everywhere.
 *   flusher.lock (spinlock): kick state; taken under the cache mutex by the
 *     kick callbacks, never held while sleeping.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/kthread.h>
#include <linux/mempool.h>
#include <linux/sort.h>
#include <linux/module.h>

#include "dcache_target.h"

#define WB_BATCH 64

static unsigned int flush_delay_ms = 1000;
module_param(flush_delay_ms, uint, 0444);
MODULE_PARM_DESC(flush_delay_ms, "Longest a dirty block waits for write-back, in ms");

struct dcache_flusher {
	struct task_struct *task;
	struct mutex devs_lock;		/* devs; held across a round */
	struct list_head devs;
	spinlock_t lock;		/* kicked, deadline, rounds_* */
	bool kicked;
	unsigned long deadline;		/* 0: no delayed kick pending */
	u64 rounds_started;
	u64 rounds_done;
	wait_queue_head_t wake;
	wait_queue_head_t round_done;
	mempool_t *pages;
};

static struct dcache_flusher flusher;

struct wb_write {
	struct dcache_block *b;
	struct page *page;
	u32 dirty_gen;
	int error;
	struct completion done;
};

static void wb_end_io(struct bio *bio)
{
	struct wb_write *w = bio->bi_private;

	w->error = blk_status_to_errno(bio->bi_status);
	bio_put(bio);
	complete(&w->done);
}

/* Write @data, the contents of w->b, to its place on the backing device. */
static void wb_submit(struct dcache_dev *dd, struct wb_write *w, void *data,
		      blk_opf_t extra)
{
	struct bio *bio;

	init_completion(&w->done);
	bio = bio_alloc_bioset(dd->backing->bdev, 1, REQ_OP_WRITE | extra, GFP_NOIO,
			       dd->part->cache->bio_set);
	bio->bi_iter.bi_sector = w->b->addr << dd->block_shift;
	__bio_add_page(bio, virt_to_page(data), dd->block_size, offset_in_page(data));
	bio->bi_private = w;
	bio->bi_end_io = wb_end_io;
	submit_bio(bio);
}

static int wb_wait(struct dcache_dev *dd, struct wb_write *w)
{
	struct dcache *c = dd->part->cache;

	wait_for_completion_io(&w->done);
	atomic64_inc(&c->stats.writes);
	atomic64_add(dd->block_size, &c->stats.bytes_written);
	if (w->error) {
		atomic64_inc(&c->stats.write_errors);
		atomic64_inc(&dd->stats.write_errors);
	}
	return w->error;
}

/* Write a block the caller holds to the backing device and wait. */
int dcache_write_block_sync(struct dcache_dev *dd, struct dcache_block *b,
			    blk_opf_t extra)
{
	struct wb_write w = { .b = b };

	wb_submit(dd, &w, dcache_block_data(b), extra);
	return wb_wait(dd, &w);
}

static int cmp_addr(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Write back one batch of dirty blocks; returns how many, or an error. */
static int writeback_batch(struct dcache_dev *dd, u64 max_epoch, u64 *addrs,
			   struct wb_write *ws)
{
	unsigned int n, i, nr_writes = 0;
	int error = 0;

	n = dcache_collect_dirty(dd->part, max_epoch, addrs, WB_BATCH);
	if (!n)
		return 0;
	sort(addrs, n, sizeof(*addrs), cmp_addr, NULL);
	for (i = 0; i < n; i++) {
		struct wb_write *w = &ws[nr_writes];
		struct dcache_block *b;
		void *copy;

		if (dcache_get_cached(dd->part, addrs[i], DCACHE_READ, &b))
			continue;
		if (!dcache_block_dirty(b)) {
			dcache_put(b, DCACHE_READ);
			continue;
		}
		w->b = b;
		w->page = mempool_alloc(flusher.pages, GFP_NOIO);
		copy = page_address(w->page);
		memcpy(copy, dcache_block_data(b), dd->block_size);
		w->dirty_gen = READ_ONCE(b->dirty_gen);
		/* Keep the pin, drop the lock: the block cannot change identity. */
		dcache_unlock_block(b, DCACHE_READ);
		wb_submit(dd, w, copy, 0);
		nr_writes++;
	}
	for (i = 0; i < nr_writes; i++) {
		struct wb_write *w = &ws[i];

		if (wb_wait(dd, w))
			error = w->error;
		else
			dcache_clean_if_unchanged(w->b, w->dirty_gen);
		mempool_free(w->page, flusher.pages);
		dcache_unpin(w->b);
	}
	return error ?: n;
}

/*
 * Write back every block of @dd dirty at the call and flush the backing
 * device's cache. Closes the current epoch; on success every epoch before
 * the new one is durable.
 */
int dcache_flush_dev(struct dcache_dev *dd)
{
	u64 closed = atomic64_fetch_inc(&dd->epoch);
	int r;

	mutex_lock(&dd->flush_lock);
	/* Until no block dirtied in a closed epoch is left; later ones wait. */
	do {
		r = writeback_batch(dd, closed, dd->wb_addrs, dd->wb_writes);
	} while (r > 0);
	if (!r && bdev_write_cache(dd->backing->bdev))
		r = blkdev_issue_flush(dd->backing->bdev);
	atomic_set(&dd->error, r);
	if (!r && atomic64_read(&dd->durable_epoch) < closed)
		atomic64_set(&dd->durable_epoch, closed);
	mutex_unlock(&dd->flush_lock);
	return r;
}

/* The write-back batch of a device, allocated at table load. */
int dcache_flush_dev_init(struct dcache_dev *dd)
{
	mutex_init(&dd->flush_lock);
	dd->wb_writes = kcalloc(WB_BATCH, sizeof(*dd->wb_writes), GFP_KERNEL);
	dd->wb_addrs = kcalloc(WB_BATCH, sizeof(*dd->wb_addrs), GFP_KERNEL);
	if (!dd->wb_writes || !dd->wb_addrs) {
		dcache_flush_dev_exit(dd);
		return -ENOMEM;
	}
	return 0;
}

void dcache_flush_dev_exit(struct dcache_dev *dd)
{
	kfree(dd->wb_addrs);
	kfree(dd->wb_writes);
	dd->wb_addrs = NULL;
	dd->wb_writes = NULL;
}

static void flusher_round(void)
{
	struct dcache_dev *dd;

	mutex_lock(&flusher.devs_lock);
	list_for_each_entry(dd, &flusher.devs, devs)
		if (dd->part->nr_dirty)
			dcache_flush_dev(dd);
	mutex_unlock(&flusher.devs_lock);
}

static unsigned long flusher_deadline(void)
{
	unsigned long deadline;

	spin_lock_irq(&flusher.lock);
	deadline = flusher.deadline;
	spin_unlock_irq(&flusher.lock);
	return deadline;
}

static bool flusher_due(void)
{
	bool due;

	spin_lock_irq(&flusher.lock);
	due = flusher.kicked ||
	      (flusher.deadline && time_after_eq(jiffies, flusher.deadline));
	spin_unlock_irq(&flusher.lock);
	return due;
}

static int flusher_thread(void *arg)
{
	struct dcache *c = arg;

	while (!kthread_should_stop()) {
		unsigned long timeout = MAX_SCHEDULE_TIMEOUT;
		unsigned long deadline = flusher_deadline();
		u64 round;

		if (deadline)
			timeout = max_t(long, 1, (long)(deadline - jiffies));
		/* A new deadline means a new timeout: wake up to recompute it. */
		wait_event_interruptible_timeout(flusher.wake,
						 flusher_due() || kthread_should_stop() ||
						 flusher_deadline() != deadline,
						 timeout);
		if (!flusher_due())
			continue;
		spin_lock_irq(&flusher.lock);
		flusher.kicked = false;
		flusher.deadline = 0;
		round = ++flusher.rounds_started;
		spin_unlock_irq(&flusher.lock);

		flusher_round();
		atomic64_inc(&c->stats.rounds);

		spin_lock_irq(&flusher.lock);
		flusher.rounds_done = round;
		spin_unlock_irq(&flusher.lock);
		wake_up_all(&flusher.round_done);
	}
	return 0;
}

static void flusher_kick(struct dcache *c)
{
	unsigned long flags;

	spin_lock_irqsave(&flusher.lock, flags);
	flusher.kicked = true;
	spin_unlock_irqrestore(&flusher.lock, flags);
	wake_up(&flusher.wake);
}

static void flusher_kick_delayed(struct dcache *c)
{
	unsigned long flags;
	bool wake = false;

	spin_lock_irqsave(&flusher.lock, flags);
	if (!flusher.deadline) {
		flusher.deadline = jiffies + msecs_to_jiffies(flush_delay_ms) ?: 1;
		wake = true;
	}
	spin_unlock_irqrestore(&flusher.lock, flags);
	if (wake)
		wake_up(&flusher.wake);
}

/* Returns once a round that started after the call has completed. */
static int flusher_wait_round(struct dcache *c)
{
	u64 target;

	spin_lock_irq(&flusher.lock);
	target = flusher.rounds_started + 1;
	flusher.kicked = true;
	spin_unlock_irq(&flusher.lock);
	wake_up(&flusher.wake);
	wait_event(flusher.round_done, READ_ONCE(flusher.rounds_done) >= target);
	return 0;
}

static const struct dcache_flush_ops flusher_ops = {
	.kick = flusher_kick,
	.kick_delayed = flusher_kick_delayed,
	.wait_round = flusher_wait_round,
};

int dcache_flusher_start(struct dcache *c)
{
	mutex_init(&flusher.devs_lock);
	INIT_LIST_HEAD(&flusher.devs);
	spin_lock_init(&flusher.lock);
	init_waitqueue_head(&flusher.wake);
	init_waitqueue_head(&flusher.round_done);
	flusher.pages = mempool_create_page_pool(WB_BATCH, 0);
	if (!flusher.pages)
		return -ENOMEM;
	flusher.task = kthread_run(flusher_thread, c, "dcache_flush");
	if (IS_ERR(flusher.task)) {
		mempool_destroy(flusher.pages);
		return PTR_ERR(flusher.task);
	}
	c->flush_ops = &flusher_ops;
	return 0;
}

void dcache_flusher_stop(struct dcache *c)
{
	c->flush_ops = NULL;
	kthread_stop(flusher.task);
	mempool_destroy(flusher.pages);
}

void dcache_flusher_add(struct dcache_dev *dd)
{
	mutex_lock(&flusher.devs_lock);
	list_add_tail(&dd->devs, &flusher.devs);
	mutex_unlock(&flusher.devs_lock);
}

/* After this returns, no round touches @dd. */
void dcache_flusher_remove(struct dcache_dev *dd)
{
	mutex_lock(&flusher.devs_lock);
	list_del_init(&dd->devs);
	mutex_unlock(&flusher.devs_lock);
}
