// SPDX-License-Identifier: GPL-2.0
/*
 * dm-dcache: a device-mapper target that caches a backing device's blocks
 * in kernel memory (a port of the Plan 9 venti disk cache).
 *
 * This file is the module and the dm target glue. The module owns the one
 * shared cache instance (cache.c), sized by the pool_mb parameter, and its
 * flush thread (flush.c). The bio paths are in io.c.
 *
 * Locking: dcache_shared is written only at module init and exit. A
 * device's context is set up in ctr and torn down in dtr, which dm
 * serialises with I/O; its counters are atomics.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/slab.h>
#include <linux/device-mapper.h>

#include <linux/log2.h>

#include "dcache.h"
#include "dcache_target.h"

#define DM_MSG_PREFIX "dcache"
#define DCACHE_VERSION "0.1.0"

static struct dcache *dcache_shared;

static unsigned int pool_mb = 64;
module_param(pool_mb, uint, 0444);
MODULE_PARM_DESC(pool_mb, "Size of the shared block pool in MiB, set at load (1 .. half of RAM)");

static bool debug_check;

/* Writing 1 checks the shared cache's invariants now and on every put. */
static int debug_check_set(const char *val, const struct kernel_param *kp)
{
	bool on;
	int r;

	r = kstrtobool(val, &on);
	if (r)
		return -EINVAL;
	debug_check = on;
	if (dcache_shared) {
		dcache_shared->debug_check = on;
		if (on && dcache_check(dcache_shared))
			return -EUCLEAN;
	}
	return 0;
}

static const struct kernel_param_ops debug_check_ops = {
	.set = debug_check_set,
	.get = param_get_bool,
};
module_param_cb(debug_check, &debug_check_ops, &debug_check, 0644);
MODULE_PARM_DESC(debug_check, "Check cache invariants on every put (slow; 0 or 1)");

static int dcache_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
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
	dd->mode = table.mode;
	atomic64_set(&dd->epoch, 1);
	INIT_LIST_HEAD(&dd->devs);

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
	r = dm_set_target_max_io_len(ti, dd->block_size >> SECTOR_SHIFT);
	if (r) {
		ti->error = "Cannot set the maximum I/O size";
		goto bad_dev;
	}
	r = dcache_flush_dev_init(dd);
	if (r) {
		ti->error = "Cannot allocate the write-back batch";
		goto bad_dev;
	}
	dd->wq = alloc_workqueue("dcache_io/%s", WQ_MEM_RECLAIM, 0,
				 dm_table_device_name(ti->table));
	if (!dd->wq) {
		r = -ENOMEM;
		ti->error = "Cannot allocate the device workqueue";
		goto bad_flush;
	}
	dd->part = dcache_add_part(dcache_shared, bdev, dd->block_size, NULL, dd);
	if (IS_ERR(dd->part)) {
		r = PTR_ERR(dd->part);
		ti->error = "Cannot register with the shared cache";
		goto bad_wq;
	}

	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	ti->num_discard_bios = 1;
	ti->per_io_data_size = sizeof(struct dcache_io);
	ti->private = dd;
	dcache_flusher_add(dd);
	return 0;

bad_wq:
	destroy_workqueue(dd->wq);
bad_flush:
	dcache_flush_dev_exit(dd);
bad_dev:
	dm_put_device(ti, dd->backing);
bad:
	kfree(dd);
	return r;
}

/*
 * Write back everything of @dd. If the backing device refuses, its dirty
 * blocks are dropped with a log line saying how many: a removed device
 * cannot keep them.
 */
static void dcache_write_back_or_drop(struct dcache_dev *dd)
{
	u64 lost;
	int r;

	r = dcache_flush_dev(dd);
	if (!r)
		return;
	lost = dcache_drop_part_dirty(dd->part);
	if (lost)
		DMERR("%s: write-back failed (%d): %llu dirty blocks (%llu bytes) lost",
		      dm_table_device_name(dd->ti->table), r, lost,
		      lost * dd->block_size);
}

static void dcache_dtr(struct dm_target *ti)
{
	struct dcache_dev *dd = ti->private;

	dcache_flusher_remove(dd);
	flush_workqueue(dd->wq);
	dcache_write_back_or_drop(dd);
	WARN_ON(dcache_remove_part(dd->part));
	destroy_workqueue(dd->wq);
	dcache_flush_dev_exit(dd);
	dm_put_device(ti, dd->backing);
	kfree(dd);
}

static int dcache_map(struct dm_target *ti, struct bio *bio)
{
	return dcache_map_bio(ti->private, bio);
}

/* Suspend completes with every dirty block of the device on the disk. */
static void dcache_postsuspend(struct dm_target *ti)
{
	struct dcache_dev *dd = ti->private;
	int r;

	flush_workqueue(dd->wq);
	r = dcache_flush_dev(dd);
	if (r)
		DMERR("%s: write-back at suspend failed: %d; dirty blocks kept",
		      dm_table_device_name(ti->table), r);
}

static void dcache_clear_stats(struct dcache_dev *dd)
{
	atomic64_set(&dd->stats.reads, 0);
	atomic64_set(&dd->stats.read_hits, 0);
	atomic64_set(&dd->stats.writes, 0);
	atomic64_set(&dd->stats.write_hits, 0);
	atomic64_set(&dd->stats.flushes, 0);
	atomic64_set(&dd->stats.write_errors, 0);
}

static int dcache_message(struct dm_target *ti, unsigned int argc, char **argv,
			  char *result, unsigned int maxlen)
{
	struct dcache_dev *dd = ti->private;

	if (argc == 1 && !strcasecmp(argv[0], "clear_stats")) {
		dcache_clear_stats(dd);
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "flush"))
		return dcache_flush_dev(dd);
	DMERR("unrecognised message: %s%s (expected clear_stats or flush)",
	      argc ? argv[0] : "(none)", argc > 1 ? " ..." : "");
	return -EINVAL;
}

static void dcache_status(struct dm_target *ti, status_type_t type,
			  unsigned int status_flags, char *result,
			  unsigned int maxlen)
{
	struct dcache_dev *dd = ti->private;
	struct dcache_dev_stats *st = &dd->stats;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%s %llu %llu %lld %lld %lld %lld %lld %lld %lld %lld",
		       atomic_read(&dd->error) ? "write_error" : "ok",
		       READ_ONCE(dd->part->nr_blocks), READ_ONCE(dd->part->nr_dirty),
		       atomic64_read(&st->reads), atomic64_read(&st->read_hits),
		       atomic64_read(&st->writes), atomic64_read(&st->write_hits),
		       atomic64_read(&st->flushes), atomic64_read(&st->write_errors),
		       atomic64_read(&dd->epoch), atomic64_read(&dd->durable_epoch));
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %u 1 %s", dd->backing->name, dd->block_size,
		       dcache_mode_name(dd->mode));
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
	.postsuspend = dcache_postsuspend,
	.message = dcache_message,
	.status = dcache_status,
	.iterate_devices = dcache_iterate_devices,
};

static int __init dm_dcache_init(void)
{
	struct dcache_config cfg = { .block_size = PAGE_SIZE };
	u64 max_mb = (totalram_pages() << PAGE_SHIFT) >> 21;	/* half of RAM */
	int r;

	if (!pool_mb || pool_mb > max_mb) {
		DMERR("pool_mb=%u out of range 1..%llu", pool_mb, max_mb);
		return -EINVAL;
	}
	cfg.nr_blocks = ((u64)pool_mb << 20) / PAGE_SIZE;
	dcache_shared = dcache_create(&cfg);
	if (IS_ERR(dcache_shared)) {
		r = PTR_ERR(dcache_shared);
		dcache_shared = NULL;
		DMERR("cannot create a %u MiB pool: %d", pool_mb, r);
		return r;
	}
	dcache_shared->debug_check = debug_check;

	r = dcache_flusher_start(dcache_shared);
	if (r) {
		DMERR("cannot start the flush thread: %d", r);
		goto bad_cache;
	}
	r = dm_register_target(&dcache_target);
	if (r) {
		DMERR("register failed %d", r);
		goto bad_flusher;
	}
	return 0;

bad_flusher:
	dcache_flusher_stop(dcache_shared);
bad_cache:
	dcache_destroy(dcache_shared);
	dcache_shared = NULL;
	return r;
}

static void __exit dm_dcache_exit(void)
{
	dm_unregister_target(&dcache_target);
	dcache_flusher_stop(dcache_shared);
	dcache_destroy(dcache_shared);
}

module_init(dm_dcache_init);
module_exit(dm_dcache_exit);

MODULE_DESCRIPTION(DM_NAME " target caching a block device in memory (venti disk cache)");
MODULE_AUTHOR("dm-dcache developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DCACHE_VERSION);
MODULE_ALIAS("dm-dcache");
