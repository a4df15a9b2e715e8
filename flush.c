// SPDX-License-Identifier: GPL-2.0
/*
 * Write-back in epoch order: the module's flush thread and its rounds.
 *
 * A round closes the open epoch, then writes the dirty blocks of every
 * closed epoch stage by stage, oldest epoch first (the dirty list is kept
 * in epoch order by cache.c). In a stage each device's blocks go, in
 * address order and merged into bios of adjacent blocks, to that device's
 * own write-back workqueue, devices in parallel; when every device is done
 * each backing device with a volatile cache has been flushed, and the
 * epoch is published as the device's durable epoch. So at every moment a
 * backing device holds its state at an epoch boundary, plus the writes of
 * the stage under way.
 *
 * A block is written from a copy taken under its shared lock, so readers
 * and writers never wait for the disk; a block written again after its
 * copy stays dirty in its newer epoch (cache.c). A failed write leaves its
 * blocks dirty, ends the round for that device (its later epochs wait, so
 * the prefix still holds) and the flusher retries with a growing back-off.
 *
 * Locking, outermost first:
 *   flusher.devs_lock (mutex): the device list; held for a whole round, so
 *     a device leaves the list only between rounds.
 *   a block's lock (shared), then cache.c's locks, as everywhere.
 *   flusher.kick.lock (kick.c): innermost.
 * A device's write-back state (dcache_dev.wb) belongs to the round that
 * queued its stage job, from queueing to completion.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/kthread.h>
#include <linux/mempool.h>
#include <linux/sort.h>
#include <linux/module.h>
#include <linux/device-mapper.h>

#include "dcache_target.h"
#include "dcache_kick.h"
#include "dcache_export.h"

#define DM_MSG_PREFIX "dcache"
#define WB_BACKOFF_MIN_MS 100U
#define WB_BACKOFF_MAX_MS 5000U

static bool trace_stages;
module_param(trace_stages, bool, 0644);
MODULE_PARM_DESC(trace_stages, "Log the start and end of every stage of every device (tests)");

struct dcache_flusher {
	struct task_struct *task;
	struct dcache *cache;
	struct mutex devs_lock;		/* devs; held across a round */
	struct list_head devs;
	struct dcache_kick kick;	/* when rounds run (kick.c) */
	unsigned int backoff_ms;	/* after a failed round; flusher thread only */
	atomic64_t durable;		/* every device has every epoch up to it */
};

static struct dcache_flusher flusher;

static void wb_end_io(struct bio *bio)
{
	struct wb_block *first = bio->bi_private;
	struct dcache_wb *wb = first->wb;
	int error = blk_status_to_errno(bio->bi_status);
	unsigned int i;

	for (i = 0; i < bio->bi_vcnt; i++)
		first[i].error = error;
	bio_put(bio);
	if (atomic_dec_and_test(&wb->pending))
		complete(&wb->bios_done);
}

static void count_write(struct dcache_dev *dd, unsigned int blocks, int error)
{
	struct dcache *c = dd->part->cache;

	atomic64_add(blocks, &c->stats.writes);
	atomic64_add((u64)blocks * dd->block_size, &c->stats.bytes_written);
	if (error) {
		atomic64_add(blocks, &c->stats.write_errors);
		atomic64_add(blocks, &dd->stats.write_errors);
	}
}

/* Write a block the caller holds to the backing device and wait. */
int dcache_write_block_sync(struct dcache_dev *dd, struct dcache_block *b,
			    blk_opf_t extra)
{
	struct bio bio;
	struct bio_vec bv;
	void *data = dcache_block_data(b);
	int r;

	/* An older copy still in flight must not land after this one. */
	wait_on_bit_io(&b->flags, DCACHE_B_WRITING, TASK_UNINTERRUPTIBLE);
	bio_init(&bio, dd->backing->bdev, &bv, 1, REQ_OP_WRITE | REQ_SYNC | extra);
	bio.bi_iter.bi_sector = b->addr << dd->block_shift;
	__bio_add_page(&bio, virt_to_page(data), dd->block_size, offset_in_page(data));
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	count_write(dd, 1, r);
	return r;
}

static int cmp_addr(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * How many of the sorted addresses from @addrs[0] are consecutive, at most
 * @max: the blocks that one bio writes.
 */
unsigned int dcache_run_length(const u64 *addrs, unsigned int n, unsigned int max)
{
	unsigned int run = 1;

	while (run < n && run < max && addrs[run] == addrs[0] + run)
		run++;
	return run;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_run_length);

/* Copy the collected blocks still dirty in @epoch; returns how many. */
static unsigned int take_copies(struct dcache_dev *dd, u64 epoch, unsigned int n)
{
	struct dcache_wb *wb = &dd->wb;
	unsigned int i, nr = 0;

	for (i = 0; i < n; i++) {
		struct wb_block *w = &wb->blocks[nr];
		struct dcache_block *b;

		if (dcache_get_cached(dd->part, wb->addrs[i], DCACHE_READ, &b))
			continue;
		/* Under the shared lock only this job changes epoch and state. */
		if (!dcache_block_dirty(b) || b->epoch != epoch) {
			dcache_put(b, DCACHE_READ);
			continue;
		}
		w->b = b;
		w->wb = wb;
		w->error = 0;
		w->page = mempool_alloc(wb->pages, GFP_NOIO);
		memcpy(page_address(w->page), dcache_block_data(b), dd->block_size);
		w->dirty_gen = dcache_writeback_start(b);
		wb->addrs[nr] = wb->addrs[i];	/* addrs[0..nr) match blocks */
		/* Keep the pin, drop the lock: the block cannot change identity. */
		dcache_unlock_block(b, DCACHE_READ);
		nr++;
	}
	return nr;
}

/* Submit runs of adjacent blocks as single bios; then wait for them all. */
static void write_copies(struct dcache_dev *dd, unsigned int nr)
{
	struct dcache_wb *wb = &dd->wb;
	unsigned int i = 0;

	atomic_set(&wb->pending, 1);
	init_completion(&wb->bios_done);
	while (i < nr) {
		unsigned int run = dcache_run_length(wb->addrs + i, nr - i, BIO_MAX_VECS);
		struct bio *bio;

		bio = bio_alloc_bioset(dd->backing->bdev, run, REQ_OP_WRITE, GFP_NOIO,
				       dd->part->cache->bio_set);
		bio->bi_iter.bi_sector = wb->blocks[i].b->addr << dd->block_shift;
		bio->bi_private = &wb->blocks[i];
		bio->bi_end_io = wb_end_io;
		for (; run; run--, i++)
			__bio_add_page(bio, wb->blocks[i].page, dd->block_size, 0);
		atomic_inc(&wb->pending);
		wb->bios++;
		submit_bio(bio);
	}
	if (!atomic_dec_and_test(&wb->pending))
		wait_for_completion_io(&wb->bios_done);
}

/* End the write-back of copied blocks; returns the first error. */
static int end_copies(struct dcache_dev *dd, unsigned int nr)
{
	struct dcache_wb *wb = &dd->wb;
	unsigned int i, failed = 0;
	int error = 0;

	for (i = 0; i < nr; i++) {
		struct wb_block *w = &wb->blocks[i];

		dcache_writeback_end(w->b, w->dirty_gen, w->error);
		mempool_free(w->page, wb->pages);
		dcache_unpin(w->b);
		if (w->error) {
			error = error ?: w->error;
			failed++;
		}
	}
	count_write(dd, nr - failed, 0);
	count_write(dd, failed, -EIO);
	return error;
}

/*
 * One device's part of a stage: every block of it dirty in wb->epoch, in
 * passes of at most DCACHE_WB_BLOCKS, then the backing device's flush.
 */
static void stage_work(struct work_struct *work)
{
	struct dcache_dev *dd = container_of(work, struct dcache_dev, wb.work);
	struct dcache_wb *wb = &dd->wb;
	struct dcache *c = dd->part->cache;
	unsigned int n, nr, written = 0;
	int error = 0;

	wb->bios = 0;
	while ((n = dcache_collect_stage(dd->part, wb->epoch, wb->addrs,
					 DCACHE_WB_BLOCKS))) {
		sort(wb->addrs, n, sizeof(*wb->addrs), cmp_addr, NULL);
		nr = take_copies(dd, wb->epoch, n);
		/* Writers held for this stage may go on: the copies are taken. */
		wake_up_all(&c->stage_wait);
		if (!nr)
			break;	/* all changed under us; never spin on them */
		if (trace_stages && !written)
			DMINFO("%s: stage %llu start", dm_table_device_name(dd->ti->table),
			       wb->epoch);
		write_copies(dd, nr);
		written += nr;
		error = end_copies(dd, nr);
		if (error)
			break;
	}
	if (!error && written && bdev_write_cache(dd->backing->bdev))
		error = blkdev_issue_flush(dd->backing->bdev);
	if (trace_stages && written)
		DMINFO("%s: stage %llu done: %u blocks in %u bios, error %d",
		       dm_table_device_name(dd->ti->table), wb->epoch, written,
		       wb->bios, error);
	wb->error = error;
	complete(&wb->done);
}

/* Called under devs_lock: a part off the list has no job to write it. */
static bool part_skipped(struct dcache_part *part)
{
	struct dcache_dev *dd = part->private;

	return !dd || !dd->wb.listed || dd->wb.failed;
}

/* Returns whether every device took every stage. */
static bool flusher_round(void)
{
	struct dcache *c = flusher.cache;
	struct dcache_dev *dd;
	bool ok = true;
	u64 closed, epoch, prev = 0;

	mutex_lock(&flusher.devs_lock);
	closed = dcache_close_epoch(c);
	list_for_each_entry(dd, &flusher.devs, devs)
		dd->wb.failed = false;
	while ((epoch = dcache_next_stage(c, closed, part_skipped))) {
		/* Each stage empties its epoch, so epochs only grow. */
		if (WARN_ON_ONCE(epoch <= prev))
			break;
		prev = epoch;
		list_for_each_entry(dd, &flusher.devs, devs) {
			if (dd->wb.failed)
				continue;
			dd->wb.epoch = epoch;
			reinit_completion(&dd->wb.done);
			queue_work(dd->wb.wq, &dd->wb.work);
		}
		list_for_each_entry(dd, &flusher.devs, devs) {
			if (dd->wb.failed)
				continue;
			wait_for_completion(&dd->wb.done);
			if (dd->wb.error) {
				dd->wb.failed = true;
				atomic_set(&dd->error, dd->wb.error);
				ok = false;
				continue;
			}
			/* Everything of this device up to @epoch is on its disk. */
			atomic64_set(&dd->durable_epoch, epoch);
		}
		if (ok)
			atomic64_set(&flusher.durable, epoch);
		wake_up_all(&c->stage_wait);
	}
	if (ok)
		atomic64_set(&flusher.durable, closed);
	list_for_each_entry(dd, &flusher.devs, devs) {
		if (dd->wb.failed)
			continue;
		atomic64_set(&dd->durable_epoch, closed);
		atomic_set(&dd->error, 0);
	}
	mutex_unlock(&flusher.devs_lock);
	return ok;
}

u64 dcache_flusher_durable_epoch(void)
{
	return atomic64_read(&flusher.durable);
}

/* A round within @ms from now, unless one is due sooner. */
void dcache_flusher_kick_within(unsigned int ms)
{
	dcache_kick_at(&flusher.kick, jiffies + msecs_to_jiffies(ms));
}

static int flusher_thread(void *arg)
{
	struct dcache *c = arg;
	struct dcache_kick *k = &flusher.kick;

	while (!kthread_should_stop()) {
		unsigned long timeout = MAX_SCHEDULE_TIMEOUT;
		unsigned long deadline = dcache_kick_deadline(k);
		u64 round;
		bool ok;

		if (deadline)
			timeout = max_t(long, 1, (long)(deadline - jiffies));
		/* A new deadline means a new timeout: wake up to recompute it. */
		wait_event_interruptible_timeout(k->wake,
						 dcache_kick_due(k, jiffies) ||
						 kthread_should_stop() ||
						 dcache_kick_deadline(k) != deadline,
						 timeout);
		if (!dcache_kick_due(k, jiffies))
			continue;
		round = dcache_kick_begin_round(k);
		ok = flusher_round();
		atomic64_inc(&c->stats.rounds);
		dcache_kick_end_round(k, round);

		/* Failed blocks stay dirty: try again later, then less often. */
		if (ok) {
			flusher.backoff_ms = WB_BACKOFF_MIN_MS;
		} else {
			dcache_flusher_kick_within(flusher.backoff_ms);
			flusher.backoff_ms = min(flusher.backoff_ms * 2, WB_BACKOFF_MAX_MS);
		}
	}
	return 0;
}

static void flusher_kick(struct dcache *c)
{
	dcache_kick_now(&flusher.kick);
}

static void flusher_kick_delayed(struct dcache *c)
{
	dcache_flusher_kick_within(READ_ONCE(dcache_flush_delay_ms));
}

/* Returns once a round that started after the call has completed. */
static int flusher_wait_round(struct dcache *c)
{
	dcache_kick_wait(&flusher.kick, dcache_kick_request_round(&flusher.kick));
	return 0;
}

static const struct dcache_flush_ops flusher_ops = {
	.kick = flusher_kick,
	.kick_delayed = flusher_kick_delayed,
	.wait_round = flusher_wait_round,
};

/*
 * Write back every block of @dd dirty at the call and flush its backing
 * device: a round that starts after the call writes every closed epoch.
 * Fails if the round could not write this device's blocks.
 */
int dcache_flush_dev(struct dcache_dev *dd)
{
	u64 epoch = dcache_current_epoch(dd->part->cache);

	flusher_wait_round(dd->part->cache);
	if (atomic64_read(&dd->durable_epoch) >= epoch)
		return 0;
	return atomic_read(&dd->error) ?: -EIO;
}

/*
 * Kick the flusher and wait until a writer of @addr may go on: 0, or the
 * device's write-back error if its stages fail meanwhile (a dead disk must
 * not hang writers for ever).
 */
int dcache_wait_stage(struct dcache_dev *dd, u64 addr)
{
	struct dcache *c = dd->part->cache;
	int error;

	flusher_kick(c);
	while (!wait_event_timeout(c->stage_wait,
				   !dcache_write_must_wait(dd->part, addr), HZ)) {
		error = atomic_read(&dd->error);
		if (error)
			return error;
	}
	return 0;
}

/* The write-back state of a device, allocated at table load. */
int dcache_flush_dev_init(struct dcache_dev *dd)
{
	struct dcache_wb *wb = &dd->wb;

	INIT_WORK(&wb->work, stage_work);
	init_completion(&wb->done);
	wb->blocks = kcalloc(DCACHE_WB_BLOCKS, sizeof(*wb->blocks), GFP_KERNEL);
	wb->addrs = kcalloc(DCACHE_WB_BLOCKS, sizeof(*wb->addrs), GFP_KERNEL);
	/* One job per device at a time takes at most a pass of pages. */
	wb->pages = mempool_create_page_pool(DCACHE_WB_BLOCKS, 0);
	wb->wq = alloc_workqueue("dcache_wb/%s", WQ_MEM_RECLAIM, 1,
				 dm_table_device_name(dd->ti->table));
	if (!wb->blocks || !wb->addrs || !wb->pages || !wb->wq) {
		dcache_flush_dev_exit(dd);
		return -ENOMEM;
	}
	return 0;
}

void dcache_flush_dev_exit(struct dcache_dev *dd)
{
	struct dcache_wb *wb = &dd->wb;

	if (wb->wq)
		destroy_workqueue(wb->wq);
	mempool_destroy(wb->pages);
	kfree(wb->addrs);
	kfree(wb->blocks);
	memset(wb, 0, sizeof(*wb));
}

int dcache_flusher_start(struct dcache *c)
{
	mutex_init(&flusher.devs_lock);
	INIT_LIST_HEAD(&flusher.devs);
	dcache_kick_init(&flusher.kick);
	flusher.cache = c;
	flusher.backoff_ms = WB_BACKOFF_MIN_MS;
	flusher.task = kthread_run(flusher_thread, c, "dcache_flush");
	if (IS_ERR(flusher.task))
		return PTR_ERR(flusher.task);
	c->flush_ops = &flusher_ops;
	return 0;
}

void dcache_flusher_stop(struct dcache *c)
{
	c->flush_ops = NULL;
	kthread_stop(flusher.task);
}

void dcache_flusher_add(struct dcache_dev *dd)
{
	mutex_lock(&flusher.devs_lock);
	list_add_tail(&dd->devs, &flusher.devs);
	dd->wb.listed = true;
	mutex_unlock(&flusher.devs_lock);
}

/* After this returns, no round touches @dd. */
void dcache_flusher_remove(struct dcache_dev *dd)
{
	mutex_lock(&flusher.devs_lock);
	list_del_init(&dd->devs);
	dd->wb.listed = false;
	mutex_unlock(&flusher.devs_lock);
}
