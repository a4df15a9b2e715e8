// SPDX-License-Identifier: GPL-2.0
/*
 * dm-dcache: a device-mapper target that caches a backing device's blocks
 * in kernel memory (a port of the Plan 9 venti disk cache).
 *
 * This file is the module and the dm target glue. The module owns the one
 * shared cache instance (cache.c), sized by the pool_mb parameter. At this
 * stage the target validates its table line and passes every bio straight
 * to the backing device.
 *
 * Locking: dcache_shared is written only at module init and exit. Each
 * device's context is written only in ctr/dtr, which dm serialises.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/slab.h>
#include <linux/device-mapper.h>

#include "dcache.h"
#include "dcache_table.h"

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

struct dcache_dev {
	struct dm_dev *backing;
	unsigned int block_size;
	enum dcache_mode mode;
};

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
	dd->block_size = table.block_size;
	dd->mode = table.mode;

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

	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	ti->num_discard_bios = 1;
	ti->private = dd;
	return 0;

bad_dev:
	dm_put_device(ti, dd->backing);
bad:
	kfree(dd);
	return r;
}

static void dcache_dtr(struct dm_target *ti)
{
	struct dcache_dev *dd = ti->private;

	dm_put_device(ti, dd->backing);
	kfree(dd);
}

static int dcache_map(struct dm_target *ti, struct bio *bio)
{
	struct dcache_dev *dd = ti->private;

	bio_set_dev(bio, dd->backing->bdev);
	if (bio_sectors(bio) || op_is_zone_mgmt(bio_op(bio)))
		bio->bi_iter.bi_sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	return DM_MAPIO_REMAPPED;
}

static void dcache_status(struct dm_target *ti, status_type_t type,
			  unsigned int status_flags, char *result,
			  unsigned int maxlen)
{
	struct dcache_dev *dd = ti->private;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("ok");
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

	r = dm_register_target(&dcache_target);
	if (r) {
		DMERR("register failed %d", r);
		dcache_destroy(dcache_shared);
		dcache_shared = NULL;
	}
	return r;
}

static void __exit dm_dcache_exit(void)
{
	dm_unregister_target(&dcache_target);
	dcache_destroy(dcache_shared);
}

module_init(dm_dcache_init);
module_exit(dm_dcache_exit);

MODULE_DESCRIPTION(DM_NAME " target caching a block device in memory (venti disk cache)");
MODULE_AUTHOR("dm-dcache developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DCACHE_VERSION);
MODULE_ALIAS("dm-dcache");
