// SPDX-License-Identifier: GPL-2.0
/*
 * Creation, resizing and destruction of a cache instance: every block,
 * page, hash bucket and policy slot is allocated here, never on the I/O
 * path. A failure unwinds completely. The retirement of the blocks of a
 * chunk that a shrink takes out is in part.c.
 *
 * Locking: a cache under creation or destruction is not shared; destroy
 * requires every part removed. dcache.resize_lock serialises resizes; it
 * is taken before anything else and held while waiting for write-back.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/log2.h>
#include <linux/bio.h>
#include <linux/delay.h>
#include <linux/module.h>

#include "dcache_core.h"
#include "dcache_export.h"

static void chunk_free(struct dcache *c, struct dcache_chunk *chunk);

/*
 * Every allocation step asks here first: tests make the n-th step fail
 * (config.fail_alloc_nth) to walk every unwind path.
 */
static bool pool_may_alloc(struct dcache *c)
{
	return ++c->allocs_done != c->fail_alloc_nth;
}

static void *pool_alloc(struct dcache *c, size_t n, size_t size)
{
	void *p = pool_may_alloc(c) ? kvcalloc(n, size, GFP_KERNEL) : NULL;

	if (p)
		dcache_count_allocation(1);
	return p;
}

static void pool_free(void *p)
{
	if (p) {
		kvfree(p);
		dcache_count_allocation(-1);
	}
}

/*
 * Blocks come in chunks of DCACHE_CHUNK_BLOCKS with their pages, so that a
 * live pool grows and shrinks a chunk at a time without moving a block.
 */
static struct dcache_chunk *chunk_alloc(struct dcache *c, u32 first, u32 nr)
{
	unsigned int per_page = PAGE_SIZE / c->block_size;
	unsigned int nr_pages = DIV_ROUND_UP(nr, per_page);
	struct dcache_chunk *chunk;
	u32 i;

	chunk = pool_alloc(c, 1, struct_size(chunk, blocks, nr));
	if (!chunk)
		return NULL;
	chunk->nr_blocks = nr;
	chunk->pages = pool_alloc(c, nr_pages, sizeof(*chunk->pages));
	if (!chunk->pages)
		goto fail;
	for (i = 0; i < nr_pages; i++) {
		chunk->pages[i] = pool_may_alloc(c) ? alloc_page(GFP_KERNEL) : NULL;
		if (!chunk->pages[i])
			goto fail;
		dcache_count_allocation(1);
	}
	for (i = 0; i < nr; i++) {
		struct dcache_block *b = &chunk->blocks[i];

		init_rwsem(&b->lock);
		INIT_HLIST_NODE(&b->hash);
		INIT_LIST_HEAD(&b->link);
		INIT_LIST_HEAD(&b->versions);
		RB_CLEAR_NODE(&b->dirty_node);
		dcache_policy_init_entry(&c->policy, &b->pe);
		b->cache = c;
		b->index = first + i;
		b->data = page_address(chunk->pages[i / per_page]) +
			  (i % per_page) * c->block_size;
	}
	return chunk;
fail:
	chunk_free(c, chunk);
	return NULL;
}

static void chunk_free(struct dcache *c, struct dcache_chunk *chunk)
{
	unsigned int nr_pages = DIV_ROUND_UP(chunk->nr_blocks, PAGE_SIZE / c->block_size);
	unsigned int i;

	if (chunk->pages) {
		for (i = 0; i < nr_pages && chunk->pages[i]; i++) {
			__free_page(chunk->pages[i]);
			dcache_count_allocation(-1);
		}
		pool_free(chunk->pages);
	}
	pool_free(chunk);
}

/* Put a chunk's blocks on the free list; under the mutex or before sharing. */
static void chunk_publish(struct dcache *c, struct dcache_chunk *chunk)
{
	u32 i;

	c->chunks[c->nr_chunks++] = chunk;
	for (i = 0; i < chunk->nr_blocks; i++)
		list_add_tail(&chunk->blocks[i].link, &c->free);
	c->nr_free += chunk->nr_blocks;
	c->nr_blocks += chunk->nr_blocks;
	dcache_update_max_dirty(c);
}

static int pool_alloc_io(struct dcache *c)
{
	int r;

	c->bio_set = pool_alloc(c, 1, sizeof(*c->bio_set));
	if (!c->bio_set)
		return -ENOMEM;
	r = pool_may_alloc(c) ?
		bioset_init(c->bio_set, DCACHE_BIOSET_SIZE, 0, BIOSET_NEED_BVECS) :
		-ENOMEM;
	if (r) {
		pool_free(c->bio_set);
		c->bio_set = NULL;
	}
	return r;
}

static void pool_free_all(struct dcache *c)
{
	if (c->bio_set) {
		bioset_exit(c->bio_set);
		pool_free(c->bio_set);
	}
	if (c->policy.ops) {
		dcache_policy_exit(&c->policy);
		dcache_count_allocation(-1);
	}
	while (c->chunks && c->nr_chunks)
		chunk_free(c, c->chunks[--c->nr_chunks]);
	pool_free(c->chunks);
	pool_free(c->hash);
	xa_destroy(&c->parts);
	kfree(c);
	dcache_count_allocation(-1);
}

static int pool_check_config(const struct dcache_config *cfg)
{
	if (!cfg->nr_blocks || cfg->nr_blocks >= U32_MAX)
		return -EINVAL;
	if (cfg->block_size < SECTOR_SIZE || cfg->block_size > PAGE_SIZE ||
	    !is_power_of_2(cfg->block_size))
		return -EINVAL;
	if (cfg->hash_buckets && !is_power_of_2(cfg->hash_buckets))
		return -EINVAL;
	if (cfg->max_dirty > cfg->nr_blocks)
		return -EINVAL;
	if (cfg->max_blocks && cfg->max_blocks < cfg->nr_blocks)
		return -EINVAL;
	return 0;
}

/* The fields of a new cache that allocate nothing; returns the hash size. */
static unsigned int pool_init_fields(struct dcache *c, const struct dcache_config *cfg)
{
	unsigned int buckets;

	mutex_init(&c->lock);
	mutex_init(&c->resize_lock);
	INIT_LIST_HEAD(&c->free);
	xa_init_flags(&c->parts, XA_FLAGS_ALLOC);
	init_waitqueue_head(&c->free_wait);
	init_waitqueue_head(&c->stage_wait);
	INIT_LIST_HEAD(&c->groups);
	c->block_size = cfg->block_size;
	c->retire_from = U32_MAX;
	/* Percent of the pool unless the caller fixed a number (tests). */
	c->max_dirty_percent = cfg->max_dirty ? 0 : 66;
	c->max_dirty = cfg->max_dirty;
	c->part_dirty_percent = 100;	/* the module sets each part's share */
	buckets = cfg->hash_buckets ?:
		roundup_pow_of_two(min_t(u64, cfg->nr_blocks, 1U << 30));
	c->hash_bits = ilog2(buckets);
	c->max_chunks = DIV_ROUND_UP(cfg->max_blocks ?: cfg->nr_blocks, DCACHE_CHUNK_BLOCKS);
	return buckets;
}

struct dcache *dcache_create(const struct dcache_config *cfg)
{
	struct dcache *c;
	unsigned int buckets;
	int r;

	r = pool_check_config(cfg);
	if (r)
		return ERR_PTR(r);
	c = cfg->fail_alloc_nth == 1 ? NULL : kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	dcache_count_allocation(1);
	c->allocs_done = 1;
	c->fail_alloc_nth = cfg->fail_alloc_nth;
	buckets = pool_init_fields(c, cfg);

	r = -ENOMEM;
	c->chunks = pool_alloc(c, c->max_chunks, sizeof(*c->chunks));
	if (!c->chunks)
		goto fail;
	c->hash = pool_alloc(c, buckets, sizeof(*c->hash));
	if (!c->hash)
		goto fail;
	/* Before the chunks: each block's policy entry is set up as it comes. */
	r = pool_may_alloc(c) ? dcache_policy_init(&c->policy, cfg->policy, cfg->nr_blocks,
						   cfg->first_tick) : -ENOMEM;
	if (r)
		goto fail;
	dcache_count_allocation(1);
	r = -ENOMEM;
	while (c->nr_blocks < cfg->nr_blocks) {
		u32 nr = min_t(u64, DCACHE_CHUNK_BLOCKS, cfg->nr_blocks - c->nr_blocks);
		struct dcache_chunk *chunk = chunk_alloc(c, c->nr_blocks, nr);

		if (!chunk)
			goto fail;
		chunk_publish(c, chunk);
	}
	r = pool_alloc_io(c);
	if (r)
		goto fail;
	return c;

fail:
	pool_free_all(c);
	return ERR_PTR(r);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_create);

void dcache_destroy(struct dcache *c)
{
	if (!c)
		return;
	WARN_ON(!xa_empty(&c->parts));
	pool_free_all(c);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_destroy);

#define RESIZE_TIMEOUT (60 * HZ)

static int pool_grow(struct dcache *c, u64 nr_blocks)
{
	struct dcache_chunk *chunk;
	u64 n = c->nr_blocks;
	int r;

	r = dcache_policy_grow(&c->policy, nr_blocks, &c->lock);
	if (r)
		return r;
	/* Chunks are added one by one, each usable at once. */
	while (n < nr_blocks) {
		chunk = chunk_alloc(c, n, DCACHE_CHUNK_BLOCKS);
		if (!chunk)
			return -ENOMEM;
		mutex_lock(&c->lock);
		chunk_publish(c, chunk);
		wake_up_all(&c->free_wait);
		mutex_unlock(&c->lock);
		n += DCACHE_CHUNK_BLOCKS;
	}
	return 0;
}

/* Take the last chunk out of use: evict, write back, wait for pins. */
static int pool_shrink_chunk(struct dcache *c)
{
	unsigned long deadline = jiffies + RESIZE_TIMEOUT;
	struct dcache_chunk *chunk;
	u64 busy, dirty;

	mutex_lock(&c->lock);
	c->retire_from = c->nr_blocks - DCACHE_CHUNK_BLOCKS;
	mutex_unlock(&c->lock);
	for (;;) {
		busy = dcache_retire_pass(c, &dirty);
		if (!busy)
			break;
		if (time_after(jiffies, deadline)) {
			dcache_unretire(c);
			return -EBUSY;
		}
		if (dirty && c->flush_ops)
			c->flush_ops->wait_round(c);
		else
			msleep(20);
	}
	mutex_lock(&c->lock);
	chunk = c->chunks[--c->nr_chunks];
	c->chunks[c->nr_chunks] = NULL;
	c->nr_blocks -= chunk->nr_blocks;
	c->nr_retired -= chunk->nr_blocks;
	c->retire_from = U32_MAX;
	dcache_update_max_dirty(c);
	mutex_unlock(&c->lock);
	chunk_free(c, chunk);
	return 0;
}

/* The pool's size now, read without the mutex: a resize may be under way. */
u64 dcache_pool_blocks(const struct dcache *c)
{
	return READ_ONCE(c->nr_blocks);
}

/*
 * Grow or shrink the pool of a live cache to @nr_blocks, a multiple of
 * DCACHE_CHUNK_BLOCKS. Shrinking writes back and evicts the blocks of the
 * chunks that go; I/O goes on meanwhile, and no lock is held longer than a
 * pass over one chunk. -EBUSY if a chunk stays pinned for a minute.
 */
int dcache_resize(struct dcache *c, u64 nr_blocks)
{
	int r = 0;

	if (!nr_blocks || nr_blocks % DCACHE_CHUNK_BLOCKS ||
	    c->nr_blocks % DCACHE_CHUNK_BLOCKS ||
	    nr_blocks > (u64)c->max_chunks * DCACHE_CHUNK_BLOCKS)
		return -EINVAL;
	mutex_lock(&c->resize_lock);
	if (nr_blocks > c->nr_blocks)
		r = pool_grow(c, nr_blocks);
	while (!r && nr_blocks < c->nr_blocks)
		r = pool_shrink_chunk(c);
	mutex_unlock(&c->resize_lock);
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_resize);
