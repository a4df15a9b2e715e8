// SPDX-License-Identifier: GPL-2.0
/*
 * Creation and destruction of a cache instance: every block, page, hash
 * bucket and heap slot is allocated here, once, so the I/O path never
 * allocates cache memory. A failure unwinds completely.
 *
 * Locking: a cache under creation or destruction is not shared; destroy
 * requires every part removed.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/log2.h>
#include <linux/bio.h>
#include <linux/module.h>

#include "dcache.h"
#include "dcache_export.h"

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

static int pool_alloc_pages(struct dcache *c)
{
	u64 i;

	c->pages = pool_alloc(c, c->nr_pages, sizeof(*c->pages));
	if (!c->pages)
		return -ENOMEM;
	for (i = 0; i < c->nr_pages; i++) {
		c->pages[i] = pool_may_alloc(c) ? alloc_page(GFP_KERNEL) : NULL;
		if (!c->pages[i])
			return -ENOMEM;
		dcache_count_allocation(1);
	}
	return 0;
}

static void pool_free_pages(struct dcache *c)
{
	u64 i;

	if (!c->pages)
		return;
	for (i = 0; i < c->nr_pages && c->pages[i]; i++) {
		__free_page(c->pages[i]);
		dcache_count_allocation(-1);
	}
	pool_free(c->pages);
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
		return r;
	}
	if (pool_may_alloc(c))
		c->load_wq = alloc_workqueue("dcache_load", WQ_MEM_RECLAIM, 0);
	return c->load_wq ? 0 : -ENOMEM;
}

static void pool_free_all(struct dcache *c)
{
	if (c->load_wq)
		destroy_workqueue(c->load_wq);
	if (c->bio_set) {
		bioset_exit(c->bio_set);
		pool_free(c->bio_set);
	}
	if (c->heap.slots) {
		dcache_heap_free(&c->heap);
		dcache_count_allocation(-1);
	}
	pool_free_pages(c);
	pool_free(c->hash);
	pool_free(c->blocks);
	idr_destroy(&c->parts);
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
	return 0;
}

static void pool_init_blocks(struct dcache *c)
{
	u64 i;

	for (i = 0; i < c->nr_blocks; i++) {
		struct dcache_block *b = &c->blocks[i];

		init_rwsem(&b->lock);
		INIT_HLIST_NODE(&b->hash);
		INIT_LIST_HEAD(&b->load_waiters);
		b->lru.heap_index = DCACHE_NOT_IN_HEAP;
		b->cache = c;
		b->index = i;
		list_add_tail(&b->link, &c->free);
	}
	c->nr_free = c->nr_blocks;
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

	mutex_init(&c->lock);
	INIT_LIST_HEAD(&c->free);
	INIT_LIST_HEAD(&c->dirty);
	idr_init(&c->parts);
	init_waitqueue_head(&c->free_wait);
	spin_lock_init(&c->waiters_lock);
	INIT_LIST_HEAD(&c->ready_waiters);
	INIT_WORK(&c->load_work, dcache_run_ready_waiters);
	c->nr_blocks = cfg->nr_blocks;
	c->block_size = cfg->block_size;
	c->blocks_per_page = PAGE_SIZE / cfg->block_size;
	c->nr_pages = DIV_ROUND_UP(c->nr_blocks, c->blocks_per_page);
	c->max_dirty = cfg->max_dirty ?: max_t(u64, 1, c->nr_blocks * 2 / 3);
	c->tick = cfg->first_tick ?: 1;
	buckets = cfg->hash_buckets ?:
		roundup_pow_of_two(min_t(u64, c->nr_blocks, 1U << 30));
	c->hash_bits = ilog2(buckets);

	r = -ENOMEM;
	c->blocks = pool_alloc(c, c->nr_blocks, sizeof(*c->blocks));
	if (!c->blocks)
		goto fail;
	c->hash = pool_alloc(c, buckets, sizeof(*c->hash));
	if (!c->hash)
		goto fail;
	r = pool_alloc_pages(c);
	if (r)
		goto fail;
	r = pool_may_alloc(c) ? dcache_heap_init(&c->heap, c->nr_blocks) : -ENOMEM;
	if (r)
		goto fail;
	dcache_count_allocation(1);
	r = pool_alloc_io(c);
	if (r)
		goto fail;
	pool_init_blocks(c);
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
	WARN_ON(!idr_is_empty(&c->parts));
	flush_work(&c->load_work);
	pool_free_all(c);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_destroy);
