// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the LRU-2 heap against a plain reference model.
 */
#include <kunit/test.h>
#include <linux/prandom.h>
#include <linux/slab.h>

#include "dcache_heap.h"

#define NODES 200

struct heap_fixture {
	struct dcache_heap heap;
	struct dcache_lru nodes[NODES];
	bool in[NODES];		/* the reference model: membership only */
};

static int heap_test_init(struct kunit *test)
{
	struct heap_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	int i;

	if (!f)
		return -ENOMEM;
	for (i = 0; i < NODES; i++)
		f->nodes[i].heap_index = DCACHE_NOT_IN_HEAP;
	if (dcache_heap_init(&f->heap, NODES))
		return -ENOMEM;
	test->priv = f;
	return 0;
}

static void heap_test_exit(struct kunit *test)
{
	struct heap_fixture *f = test->priv;

	dcache_heap_free(&f->heap);
}

/* The model's victim: linear scan for the oldest member. */
static struct dcache_lru *model_min(struct heap_fixture *f)
{
	struct dcache_lru *best = NULL;
	int i;

	for (i = 0; i < NODES; i++)
		if (f->in[i] && (!best || dcache_lru_older(&f->nodes[i], best)))
			best = &f->nodes[i];
	return best;
}

static void heap_pop_sorted_test(struct kunit *test)
{
	struct heap_fixture *f = test->priv;
	struct dcache_lru *e, *prev = NULL;
	struct rnd_state rnd;
	int i, n = 0;

	prandom_seed_state(&rnd, 1);
	for (i = 0; i < NODES; i++) {
		f->nodes[i].used2 = prandom_u32_state(&rnd) % 50;
		f->nodes[i].used = f->nodes[i].used2 + 1 + prandom_u32_state(&rnd) % 50;
		dcache_heap_insert(&f->heap, &f->nodes[i]);
	}
	KUNIT_ASSERT_TRUE(test, dcache_heap_check(&f->heap));
	while ((e = dcache_heap_pop(&f->heap))) {
		if (prev)
			KUNIT_EXPECT_FALSE(test, dcache_lru_older(e, prev));
		KUNIT_EXPECT_EQ(test, e->heap_index, DCACHE_NOT_IN_HEAP);
		prev = e;
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, NODES);
}

static void heap_random_vs_model_test(struct kunit *test)
{
	struct heap_fixture *f = test->priv;
	struct rnd_state rnd;
	u64 tick = 1;
	int step;

	prandom_seed_state(&rnd, 42);
	for (step = 0; step < 5000; step++) {
		int i = prandom_u32_state(&rnd) % NODES;
		struct dcache_lru *e = &f->nodes[i];

		switch (prandom_u32_state(&rnd) % 3) {
		case 0:	/* insert, or touch when present */
			if (!f->in[i]) {
				dcache_lru_touch(e, tick++);
				dcache_heap_insert(&f->heap, e);
				f->in[i] = true;
				break;
			}
			fallthrough;
		case 1:
			if (f->in[i]) {
				dcache_lru_touch(e, tick++);
				dcache_heap_update(&f->heap, e);
			}
			break;
		case 2:
			if (f->in[i]) {
				dcache_heap_delete(&f->heap, e);
				f->in[i] = false;
			}
			break;
		}
		KUNIT_ASSERT_TRUE(test, dcache_heap_check(&f->heap));
		KUNIT_ASSERT_EQ(test, f->in[i], dcache_lru_in_heap(e));
		if (f->heap.size)
			KUNIT_ASSERT_PTR_EQ(test, f->heap.slots[0], model_min(f));
		else
			KUNIT_ASSERT_PTR_EQ(test, model_min(f), NULL);
	}
}

/* An entry seen once has an infinitely old second access. */
static void heap_first_access_rule_test(struct kunit *test)
{
	struct heap_fixture *f = test->priv;
	struct dcache_lru *twice = &f->nodes[0], *once_old = &f->nodes[1];
	struct dcache_lru *once_new = &f->nodes[2];

	dcache_lru_touch(twice, 1);
	dcache_lru_touch(twice, 2);
	dcache_lru_touch(once_old, 10);
	dcache_lru_touch(once_new, 20);
	dcache_heap_insert(&f->heap, twice);
	dcache_heap_insert(&f->heap, once_new);
	dcache_heap_insert(&f->heap, once_old);
	/* Both single-use entries go first, ties broken by last access. */
	KUNIT_EXPECT_PTR_EQ(test, dcache_heap_pop(&f->heap), once_old);
	KUNIT_EXPECT_PTR_EQ(test, dcache_heap_pop(&f->heap), once_new);
	KUNIT_EXPECT_PTR_EQ(test, dcache_heap_pop(&f->heap), twice);
	KUNIT_EXPECT_PTR_EQ(test, dcache_heap_pop(&f->heap), NULL);
}

/* Ticks past 2^32 order after those below it (a u32 tick would wrap). */
static void heap_tick_crosses_2_32_test(struct kunit *test)
{
	struct heap_fixture *f = test->priv;
	u64 base = (1ULL << 32) - 3;
	int i;

	for (i = 0; i < 6; i++) {
		dcache_lru_touch(&f->nodes[i], base + 2 * i);
		dcache_lru_touch(&f->nodes[i], base + 2 * i + 1);
	}
	for (i = 5; i >= 0; i--)
		dcache_heap_insert(&f->heap, &f->nodes[i]);
	for (i = 0; i < 6; i++)
		KUNIT_EXPECT_PTR_EQ(test, dcache_heap_pop(&f->heap), &f->nodes[i]);
}

static void heap_delete_and_update_test(struct kunit *test)
{
	struct heap_fixture *f = test->priv;
	int i;

	for (i = 0; i < 10; i++) {
		dcache_lru_touch(&f->nodes[i], 100 + i);
		dcache_lru_touch(&f->nodes[i], 200 + i);
		dcache_heap_insert(&f->heap, &f->nodes[i]);
	}
	/* Delete the root, a middle and the last slot (node 9 stays). */
	dcache_heap_delete(&f->heap, &f->nodes[0]);
	dcache_heap_delete(&f->heap, &f->nodes[5]);
	if (f->heap.slots[f->heap.size - 1] == &f->nodes[9])
		dcache_heap_delete(&f->heap, f->heap.slots[f->heap.size - 2]);
	else
		dcache_heap_delete(&f->heap, f->heap.slots[f->heap.size - 1]);
	KUNIT_EXPECT_TRUE(test, dcache_heap_check(&f->heap));
	KUNIT_EXPECT_EQ(test, f->heap.size, 7U);
	KUNIT_ASSERT_TRUE(test, dcache_lru_in_heap(&f->nodes[9]));
	/* Move the newest entry to the front, then the front to the back. */
	f->nodes[9].used2 = 1;
	dcache_heap_update(&f->heap, &f->nodes[9]);
	KUNIT_EXPECT_PTR_EQ(test, f->heap.slots[0], &f->nodes[9]);
	f->nodes[9].used2 = 1000;
	dcache_heap_update(&f->heap, &f->nodes[9]);
	KUNIT_EXPECT_TRUE(test, dcache_heap_check(&f->heap));
	KUNIT_EXPECT_PTR_NE(test, f->heap.slots[0], &f->nodes[9]);
}

static struct kunit_case dcache_heap_test_cases[] = {
	KUNIT_CASE(heap_pop_sorted_test),
	KUNIT_CASE(heap_random_vs_model_test),
	KUNIT_CASE(heap_first_access_rule_test),
	KUNIT_CASE(heap_tick_crosses_2_32_test),
	KUNIT_CASE(heap_delete_and_update_test),
	{}
};

static struct kunit_suite dcache_heap_test_suite = {
	.name = "dcache_heap",
	.init = heap_test_init,
	.exit = heap_test_exit,
	.test_cases = dcache_heap_test_cases,
};

kunit_test_suites(&dcache_heap_test_suite);
