// SPDX-License-Identifier: GPL-2.0
/*
 * The default part operations: bios to the part's backing device, from
 * the cache's own bio_set so that a load or a write-back never fails for
 * lack of memory.
 *
 * Locking: a load runs under the block's LOADING bit only, a write under
 * its writer's round (see cache.c and flush.c).
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/module.h>

#include "dcache.h"
#include "dcache_export.h"

static void dcache_bio_read_end(struct bio *bio)
{
	struct dcache_block *b = bio->bi_private;
	int error = blk_status_to_errno(bio->bi_status);

	bio_put(bio);
	dcache_load_end(b, error);
}

static void dcache_bio_submit_read(struct dcache_part *part, struct dcache_block *b)
{
	struct dcache *c = part->cache;
	void *data = dcache_block_data(b);
	struct bio *bio;

	bio = bio_alloc_bioset(part->bdev, 1, REQ_OP_READ, GFP_NOIO, dcache_bio_set(c));
	bio->bi_iter.bi_sector = dcache_block_sector(part, b);
	__bio_add_page(bio, virt_to_page(data), part->block_size,
		       offset_in_page(data));
	bio->bi_private = b;
	bio->bi_end_io = dcache_bio_read_end;
	dcache_account_read(c, part->block_size);
	submit_bio(bio);
}

static void dcache_bio_write_end(struct bio *bio)
{
	struct dcache_wb_block *first = bio->bi_private;
	unsigned int n = bio->bi_vcnt;
	int error = blk_status_to_errno(bio->bi_status);

	bio_put(bio);
	dcache_write_end(first, n, error);
}

static void dcache_bio_submit_write(struct dcache_part *part,
				    struct dcache_wb_block *first, unsigned int n,
				    bool fua)
{
	struct bio *bio;
	unsigned int i;

	bio = bio_alloc_bioset(part->bdev, n, REQ_OP_WRITE | (fua ? REQ_FUA : 0),
			       GFP_NOIO, dcache_bio_set(part->cache));
	bio->bi_iter.bi_sector = dcache_block_sector(part, first->b);
	bio->bi_private = first;
	bio->bi_end_io = dcache_bio_write_end;
	for (i = 0; i < n; i++)
		__bio_add_page(bio, first[i].page, part->block_size, 0);
	submit_bio(bio);
}

static int dcache_bio_flush(struct dcache_part *part)
{
	return blkdev_issue_flush(part->bdev);
}

static void dcache_bio_flush_end(struct bio *bio)
{
	struct dcache_writer *wr = bio->bi_private;
	int error = blk_status_to_errno(bio->bi_status);

	bio_put(bio);
	dcache_flush_end(wr, error);
}

static void dcache_bio_submit_flush(struct dcache_part *part, struct dcache_writer *wr)
{
	struct bio *bio;

	bio = bio_alloc_bioset(part->bdev, 0, REQ_OP_WRITE | REQ_PREFLUSH,
			       GFP_NOIO, dcache_bio_set(part->cache));
	bio->bi_private = wr;
	bio->bi_end_io = dcache_bio_flush_end;
	submit_bio(bio);
}

static int dcache_bio_discard(struct dcache_part *part, u64 addr, u64 nr)
{
	if (!bdev_max_discard_sectors(part->bdev))
		return 0;
	return blkdev_issue_discard(part->bdev, dcache_part_sector(part, addr),
				    dcache_part_sector(part, nr), GFP_NOIO);
}

static bool dcache_bio_has_volatile_cache(struct dcache_part *part)
{
	return bdev_write_cache(part->bdev);
}

/* Without a volatile cache the block layer drops FUA: nothing to gain. */
static bool dcache_bio_has_fua(struct dcache_part *part)
{
	return bdev_write_cache(part->bdev) && bdev_fua(part->bdev);
}

const struct dcache_part_ops dcache_bio_part_ops = {
	.submit_read = dcache_bio_submit_read,
	.submit_write = dcache_bio_submit_write,
	.flush = dcache_bio_flush,
	.submit_flush = dcache_bio_submit_flush,
	.discard = dcache_bio_discard,
	.has_volatile_cache = dcache_bio_has_volatile_cache,
	.has_fua = dcache_bio_has_fua,
};
