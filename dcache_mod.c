// SPDX-License-Identifier: GPL-2.0
/*
 * dm-dcache: a device-mapper target that caches a backing device's blocks
 * in kernel memory.
 *
 * This file is the module and the dm target glue. The module owns the one
 * shared cache instance (include/dcache.h), sized by the pool_mb
 * parameter (params.c), its flusher (flush.c) and its statistics in sysfs
 * (stats.c). The bio paths are in io.c.
 *
 * Locking: dcache_shared is written only at module init and exit, under
 * the module's kernel_param_lock (params.c). A
 * device's context is set up in ctr and torn down in dtr, which dm
 * serialises with I/O; its counters are atomics.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/slab.h>
#include <linux/log2.h>
#include <linux/delay.h>

#include "dcache_target.h"

/* The module's one cache, shared by every device; see params.c for locking. */
struct dcache *dcache_shared;

static int dcache_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dcache_counts counts;
	struct dcache_table table;
	struct dcache_dev *dd;
	struct block_device *bdev;
	char *error = NULL;
	int r;

	r = dcache_parse_table(argc, argv, &table, &error);
	if (r) {
		ti->error = error;
		return r;
	}

	dd = kzalloc(sizeof(*dd), GFP_KERNEL);
	if (!dd) {
		ti->error = "Cannot allocate dcache context";
		return -ENOMEM;
	}
	dd->ti = ti;
	dd->block_size = table.block_size;
	dd->block_shift = ilog2(table.block_size >> SECTOR_SHIFT);
	dd->mode = table.mode_set ? table.mode : dcache_default_mode();
	dd->max_age_ms = table.max_age_ms;
	dd->sequential_cutoff = table.sequential_cutoff;
	dd->readahead = table.readahead;
	dd->read_admit = table.read_admit;
	dd->write_rest = (sector_t)-1;
	init_waitqueue_head(&dd->aheads_wait);

	r = dm_get_device(ti, table.backing_path, dm_table_get_mode(ti->table),
			  &dd->backing);
	if (r) {
		ti->error = "Backing device lookup failed";
		goto bad;
	}
	bdev = dd->backing->bdev;

	r = -EINVAL;
	if (dd->block_size < bdev_logical_block_size(bdev)) {
		ti->error = "Block size smaller than the backing device's logical block size";
		goto bad_dev;
	}
	if (ti->len > bdev_nr_sectors(bdev)) {
		ti->error = "Target length exceeds the backing device";
		goto bad_dev;
	}
	if (ti->begin & ((dd->block_size >> SECTOR_SHIFT) - 1) ||
	    ti->len & ((dd->block_size >> SECTOR_SHIFT) - 1)) {
		ti->error = "Target start and length must be multiples of the block size";
		goto bad_dev;
	}
	r = dm_set_target_max_io_len(ti, DCACHE_MAX_IO_SECTORS);
	if (r) {
		ti->error = "Cannot set the maximum I/O size";
		goto bad_dev;
	}
	dcache_counts(dcache_shared, &counts);
	r = dcache_admit_init(&dd->admit, counts.blocks_total, ti->len >> dd->block_shift);
	if (r) {
		ti->error = "Cannot allocate the table of read misses";
		goto bad_dev;
	}
	init_llist_head(&dd->misses_done);
	INIT_DELAYED_WORK(&dd->unpin_work, dcache_unpin_misses);
	INIT_WORK(&dd->admit_work, dcache_admit_resize_work);
	dd->wq = alloc_workqueue("dcache_io/%s", WQ_MEM_RECLAIM, 0,
				 dm_table_device_name(ti->table));
	if (!dd->wq) {
		r = -ENOMEM;
		ti->error = "Cannot allocate the device workqueue";
		goto bad_admit;
	}
	dd->part = dcache_add_part(dcache_shared, bdev, dd->block_size, NULL, dd);
	if (IS_ERR(dd->part)) {
		r = PTR_ERR(dd->part);
		ti->error = "Cannot register with the shared cache";
		goto bad_wq;
	}
	/* A table over a disk whose failed write-back is still pending. */
	if (dcache_other_parts_dirty(dd->part, true)) {
		r = -EBUSY;
		ti->error = "Backing device has dirty blocks of a failed table: resume or remove";
		goto bad_part;
	}
	if (table.group) {
		r = dcache_part_join_group(dd->part, table.group);
		if (r) {
			ti->error = "Cannot join the consistency group";
			goto bad_part;
		}
	}
	r = -ENOMEM;
	dd->wr = dcache_writer_create(dcache_flusher(dcache_shared), dd->part,
				      dm_table_device_name(ti->table));
	if (!dd->wr) {
		ti->error = "Cannot allocate the write-back batch";
		goto bad_part;
	}

	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	ti->num_discard_bios = 1;
	ti->per_io_data_size = sizeof(struct dcache_io);
	ti->private = dd;
	dcache_writer_start(dd->wr);
	return 0;

bad_part:
	WARN_ON(dcache_remove_part(dd->part));
bad_wq:
	destroy_workqueue(dd->wq);
bad_admit:
	dcache_admit_exit(&dd->admit);
bad_dev:
	dm_put_device(ti, dd->backing);
bad:
	kfree(dd);
	return r;
}

static void dcache_dtr(struct dm_target *ti)
{
	struct dcache_dev *dd = ti->private;
	unsigned int tries = 0;
	u64 lost;
	int r;

	dcache_wait_aheads(dd);
	flush_workqueue(dd->wq);
	dcache_writer_suspend(dd->wr, false);
	r = dcache_writer_drain(dd->wr);
	if (r == -EIO && dcache_part_group_name(dd->part) && !atomic_read(&dd->wr->error)) {
		/* Its own disk works: it waits for another member. Go alone. */
		DMWARN("%s: leaving consistency group %s to write back alone",
		       dm_table_device_name(ti->table), dcache_part_group_name(dd->part));
		dcache_part_leave_group(dd->part);
		r = dcache_writer_drain(dd->wr);
	}
	/* After this no round touches the device. */
	dcache_writer_stop(dd->wr);
	if (r) {
		/* A removed device cannot keep its blocks: say what is lost. */
		lost = dcache_drop_part_dirty(dd->part);
		DMERR("%s: write-back failed (%d): %llu dirty blocks (%llu bytes) lost",
		      dm_table_device_name(ti->table), r, lost, lost * dd->block_size);
	}
	/* The part must go before the device does: wait for the last pins. */
	while (dcache_remove_part(dd->part)) {
		if (++tries % 100 == 0)
			DMWARN("%s: cache blocks still in use, waiting",
			       dm_table_device_name(ti->table));
		dcache_drop_part_dirty(dd->part);
		msleep(100);
	}
	dcache_writer_destroy(dd->wr);
	destroy_workqueue(dd->wq);
	cancel_work_sync(&dd->admit_work);
	dcache_admit_exit(&dd->admit);
	dm_put_device(ti, dd->backing);
	kfree(dd);
}

static int dcache_map(struct dm_target *ti, struct bio *bio)
{
	return dcache_map_bio(ti->private, bio);
}

static int dcache_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *status)
{
	return dcache_end_bio(ti->private, bio, status);
}

/*
 * Suspend completes with every dirty block of the device on the disk; if
 * the disk refuses, after a few tries it completes anyway and the blocks
 * stay dirty in the cache (resume and retry, or remove and lose them).
 */
static void dcache_postsuspend(struct dm_target *ti)
{
	struct dcache_dev *dd = ti->private;
	int r;

	dcache_wait_aheads(dd);
	flush_workqueue(dd->wq);
	r = dcache_writer_drain(dd->wr);
	if (r)
		DMERR("%s: write-back at suspend failed (%d): %llu dirty blocks kept",
		      dm_table_device_name(ti->table), r, READ_ONCE(dd->part->nr_dirty));
	/* Until resume the disk may be someone else's: no write-back. */
	dcache_writer_suspend(dd->wr, true);
}

/* Another table's dirty blocks of the same disk would be read stale. */
static int dcache_preresume(struct dm_target *ti)
{
	struct dcache_dev *dd = ti->private;
	u64 dirty = dcache_other_parts_dirty(dd->part, false);

	if (dirty) {
		DMERR("%s: another dcache table holds %llu dirty blocks of this backing device",
		      dm_table_device_name(ti->table), dirty);
		return -EBUSY;
	}
	return 0;
}

static void dcache_resume(struct dm_target *ti)
{
	struct dcache_dev *dd = ti->private;

	dcache_writer_suspend(dd->wr, false);
}

static void dcache_clear_stats(struct dcache_dev *dd)
{
	atomic64_set(&dd->stats.reads, 0);
	atomic64_set(&dd->stats.read_hits, 0);
	atomic64_set(&dd->stats.read_bypasses, 0);
	atomic64_set(&dd->stats.read_aheads, 0);
	atomic64_set(&dd->stats.quick_flushes, 0);
	atomic64_set(&dd->stats.writes, 0);
	atomic64_set(&dd->stats.write_hits, 0);
	atomic64_set(&dd->stats.flushes, 0);
	atomic64_set(&dd->stats.write_throttles, 0);
	atomic64_set(&dd->stats.write_arounds, 0);
	atomic64_set(&dd->wr->write_errors, 0);
}

/* A numbered feature's new value, parsed by dcache_parse_number_feature. */
static void set_number_feature(struct dcache_dev *dd, const char *name, unsigned int v)
{
	if (!strcasecmp(name, "max_age_ms"))
		WRITE_ONCE(dd->max_age_ms, v);
	else if (!strcasecmp(name, "sequential_cutoff"))
		WRITE_ONCE(dd->sequential_cutoff, v);
	else if (!strcasecmp(name, "readahead"))
		WRITE_ONCE(dd->readahead, v);
	else if (!strcasecmp(name, "read_admit"))
		WRITE_ONCE(dd->read_admit, v);
}

static int dcache_message(struct dm_target *ti, unsigned int argc, char **argv,
			  char *result, unsigned int maxlen)
{
	struct dcache_dev *dd = ti->private;
	enum dcache_mode mode;
	unsigned int v;
	char *error;
	int r;

	if (argc == 1 && !strcasecmp(argv[0], "clear_stats")) {
		dcache_clear_stats(dd);
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "flush"))
		return dcache_writer_flush_killable(dd->wr);
	if (argc == 2 && !strcasecmp(argv[0], "mode")) {
		if (dcache_parse_mode(argv[1], &mode)) {
			DMERR("mode: unknown mode %s (writeback, writethrough or ordered)",
			      argv[1]);
			return -EINVAL;
		}
		/*
		 * Into ordered: what was written before is in closed epochs,
		 * so the prefix holds from the switch on.
		 */
		if (mode == DCACHE_MODE_ORDERED && READ_ONCE(dd->mode) != mode)
			dcache_close_epoch(dd->part);
		WRITE_ONCE(dd->mode, mode);
		return 0;
	}
	if (argc == 2) {
		r = dcache_parse_number_feature(argv[0], argv[1], &v, &error);
		if (r == -EINVAL) {
			DMERR("%s (not %s)", error, argv[1]);
			return r;
		}
		if (!r) {
			set_number_feature(dd, argv[0], v);
			return 0;
		}
	}
	DMERR("unrecognised message: %s%s (expected %s)", argc ? argv[0] : "(none)",
	      argc > 1 ? " ..." : "",
	      "clear_stats, flush, mode, max_age_ms, sequential_cutoff, readahead or read_admit");
	return -EINVAL;
}

static void dcache_status(struct dm_target *ti, status_type_t type,
			  unsigned int status_flags, char *result,
			  unsigned int maxlen)
{
	struct dcache_dev *dd = ti->private;
	struct dcache_dev_stats *st = &dd->stats;
	unsigned int sz = 0, ms, cutoff, ahead, admit;
	const char *group;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%s %llu %llu %lld %lld %lld %lld %lld %lld %llu %lld %lld %u %lld %lld",
		       atomic_read(&dd->wr->error) ? "write_error" : "ok",
		       READ_ONCE(dd->part->nr_blocks), READ_ONCE(dd->part->nr_dirty),
		       atomic64_read(&st->reads), atomic64_read(&st->read_hits),
		       atomic64_read(&st->writes), atomic64_read(&st->write_hits),
		       atomic64_read(&st->flushes), atomic64_read(&dd->wr->write_errors),
		       dcache_current_epoch(dd->part),
		       atomic64_read(&dd->wr->durable_epoch),
		       atomic64_read(&st->read_bypasses),
		       dcache_part_lag_ms(dd->part),
		       atomic64_read(&st->write_throttles),
		       atomic64_read(&st->read_aheads));
		DMEMIT(" %lld %lld", atomic64_read(&st->quick_flushes),
		       atomic64_read(&st->write_arounds));
		break;
	case STATUSTYPE_TABLE:
		ms = READ_ONCE(dd->max_age_ms);
		cutoff = READ_ONCE(dd->sequential_cutoff);
		ahead = READ_ONCE(dd->readahead);
		admit = READ_ONCE(dd->read_admit);
		group = dcache_part_group_name(dd->part);
		DMEMIT("%s %u %u %s", dd->backing->name, dd->block_size,
		       1 + (ms ? 2 : 0) + (cutoff != DCACHE_SEQUENTIAL_CUTOFF ? 2 : 0) +
		       (ahead != DCACHE_READAHEAD ? 2 : 0) +
		       (admit != DCACHE_READ_ADMIT ? 2 : 0) + (group ? 2 : 0),
		       dcache_mode_name(READ_ONCE(dd->mode)));
		if (ms)
			DMEMIT(" max_age_ms %u", ms);
		if (cutoff != DCACHE_SEQUENTIAL_CUTOFF)
			DMEMIT(" sequential_cutoff %u", cutoff);
		if (ahead != DCACHE_READAHEAD)
			DMEMIT(" readahead %u", ahead);
		if (admit != DCACHE_READ_ADMIT)
			DMEMIT(" read_admit %u", admit);
		if (group)
			DMEMIT(" group %s", group);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static int dcache_iterate_devices(struct dm_target *ti,
				  iterate_devices_callout_fn fn, void *data)
{
	struct dcache_dev *dd = ti->private;

	return fn(ti, dd->backing, 0, ti->len, data);
}

static struct target_type dcache_target = {
	.name = "dcache",
	.version = {0, 1, 0},
	.module = THIS_MODULE,
	.ctr = dcache_ctr,
	.dtr = dcache_dtr,
	.map = dcache_map,
	.end_io = dcache_end_io,
	.postsuspend = dcache_postsuspend,
	.preresume = dcache_preresume,
	.resume = dcache_resume,
	.message = dcache_message,
	.status = dcache_status,
	.iterate_devices = dcache_iterate_devices,
};

static int __init dm_dcache_init(void)
{
	struct dcache_config cfg = { .block_size = PAGE_SIZE };
	struct dcache_flusher *fl;
	struct dcache *c;
	int r;

	cfg.nr_blocks = ((u64)dcache_pool_mb << 20) / PAGE_SIZE;
	cfg.max_blocks = (dcache_pool_mb_max() << 20) / PAGE_SIZE;
	cfg.policy = dcache_policy_param();
	c = dcache_create(&cfg);
	if (IS_ERR(c)) {
		DMERR("cannot create a %u MiB pool: %ld", dcache_pool_mb, PTR_ERR(c));
		return PTR_ERR(c);
	}
	dcache_set_dirty_percent(c, dcache_dirty_percent);
	dcache_set_part_dirty_percent(c, dcache_device_dirty_percent);
	dcache_set_debug_check(c, dcache_debug_check());
	fl = dcache_flusher_create(c, &dcache_flush_delay_ms);
	if (IS_ERR(fl)) {
		r = PTR_ERR(fl);
		DMERR("cannot start the flush thread: %d", r);
		goto bad_cache;
	}
	r = dcache_stats_init(c);
	if (r) {
		DMERR("cannot create /sys/kernel/dm_dcache: %d", r);
		goto bad_flusher;
	}
	/* Parameter writes see the cache absent or complete. */
	kernel_param_lock(THIS_MODULE);
	dcache_shared = c;
	kernel_param_unlock(THIS_MODULE);
	r = dm_register_target(&dcache_target);
	if (r) {
		DMERR("register failed %d", r);
		goto bad_shared;
	}
	return 0;

bad_shared:
	kernel_param_lock(THIS_MODULE);
	dcache_shared = NULL;
	kernel_param_unlock(THIS_MODULE);
	dcache_stats_exit();
bad_flusher:
	dcache_flusher_destroy(fl);
bad_cache:
	dcache_destroy(c);
	return r;
}

static void __exit dm_dcache_exit(void)
{
	struct dcache *c = dcache_shared;

	dm_unregister_target(&dcache_target);
	kernel_param_lock(THIS_MODULE);
	dcache_shared = NULL;
	kernel_param_unlock(THIS_MODULE);
	dcache_stats_exit();
	dcache_flusher_destroy(dcache_flusher(c));
	dcache_destroy(c);
}

module_init(dm_dcache_init);
module_exit(dm_dcache_exit);

MODULE_DESCRIPTION(DM_NAME " target caching a block device in memory");
MODULE_AUTHOR("dm-dcache developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DCACHE_VERSION);
MODULE_ALIAS("dm-dcache");
