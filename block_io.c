// SPDX-License-Identifier: GPL-2.0
/*
 * The default part operations: a block is loaded with one bio to the
 * part's backing device, from the cache's own bio_set so that a load
 * never fails for lack of memory.
 *
 * Locking: runs under the block's LOADING bit only (see cache.c).
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

	bio = bio_alloc_bioset(part->bdev, 1, REQ_OP_READ, GFP_NOIO, c->bio_set);
	bio->bi_iter.bi_sector = b->addr * (part->block_size >> SECTOR_SHIFT);
	__bio_add_page(bio, virt_to_page(data), part->block_size,
		       offset_in_page(data));
	bio->bi_private = b;
	bio->bi_end_io = dcache_bio_read_end;
	atomic64_add(part->block_size, &c->stats.bytes_read);
	submit_bio(bio);
}

const struct dcache_part_ops dcache_bio_part_ops = {
	.submit_read = dcache_bio_submit_read,
};
