// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: a model checker for the flusher. A seeded random schedule drives
 * the core and the real flusher (its own thread, rounds and stage jobs)
 * over fake disks that record every write, flush and discard, and can hold
 * writes in flight, fail writes and fail flushes. A reference model of
 * what was acknowledged checks, at every disk event and every step:
 *
 *  - ordered parts: the disk (what a power cut could leave, volatile cache
 *    included) holds, block by block, the state after epoch k - 1 or a
 *    version written in epoch k, where k is the stage under way; a stage
 *    begins only on a durable image that is exactly the state after k - 1;
 *  - write-back parts: a flush that returned 0 left every version
 *    acknowledged before it on the durable image (or a newer one);
 *  - a consistency group (both parts ordered, in one group): when either
 *    part begins the stage of epoch k, the other's durable image holds at
 *    least the state after k - 1, so the two disks together are a prefix;
 *  - durable epochs never shrink; reads return the newest acknowledged
 *    version while the disks work, whether through a get, a cached run,
 *    a miss run or a load ahead filled from the disk (or failed half
 *    way), or a read that goes around the cache to the disk; the cache's
 *    invariants hold.
 *
 * Writes come one block at a time (the worker's get), as map() absorbs a
 * bio of several blocks (cached ones and new ones), and, in write-back
 * mode, around the cache: a claim of uncached blocks or a pinned run of
 * cached ones, in flight over several steps while reads, loads and other
 * writes go on, then landing or failing.
 *
 * Every block carries its version in its first 8 bytes; version 0 is the
 * initial (zeroed) content and what a discard leaves. The seed is in the
 * failure message; make soak builds longer runs with other seeds.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dcache_core.h"
#include "dcache_flush.h"
#include "fake_disk.h"

#define BS 512
#define NR_DISKS 2
#define NR_ADDRS 24
#define HOT_ADDRS 4
#define POOL_BLOCKS 20
#define MAX_HIST 256
#define MAX_DISCARDS 64

/*
 * Steps per run and the first seed; make soak builds the module with
 * larger values (module parameters would come too late: kernels before
 * 6.4 run a module's suites before they parse its parameters).
 */
#ifndef DCACHE_MODEL_STEPS
#define DCACHE_MODEL_STEPS 3000
#endif
#ifndef DCACHE_MODEL_SEED
#define DCACHE_MODEL_SEED 1
#endif

struct hist_entry {
	u64 epoch;
	u64 version;
	bool discarded;		/* a discard in this epoch: v0 may show in its stage */
};

struct model_block {
	u64 cur;		/* newest acknowledged version */
	bool unknown;		/* discarded since: reads may return anything */
	u32 discard_gen;	/* bumped by every discard */
	unsigned int nr_hist;	/* ordered parts: final version per epoch */
	struct hist_entry hist[MAX_HIST];
};

struct queued_discard {
	u64 addr, nr, epoch;
};

/* A write sent around the cache to the disk (io.c: write_around), in flight. */
struct write_around {
	bool active;
	bool claimed;		/* a claim of blocks the cache has none of */
	unsigned int slot;	/* the claim's */
	u64 addr;
	unsigned int nr;
	u64 version[4];
	struct dcache_block *blocks[4];	/* else the pinned run's */
};

struct flush_snap {
	u64 version[NR_ADDRS];
	u32 discard_gen[NR_ADDRS];
};

struct model_part {
	struct fake_disk *d;
	struct dcache_writer *wr;
	bool ordered;
	u64 ordered_after;	/* prefix checks cover stages after it */
	u64 stage;		/* highest stage epoch the disk has seen */
	s64 durable_seen;
	struct model_block blk[NR_ADDRS];
	/* An asynchronous write-back flush and the versions it must cover. */
	struct work_struct flush_work;
	bool flushing;
	bool quick;		/* try a quick flush first */
	int flush_result;
	struct completion flush_done;
	struct dcache_flush_req quick_req;
	int quick_result;
	struct completion quick_done;
	unsigned int quick_flushes;	/* that went ahead */
	struct flush_snap snap;
	/* A write-back discard the model sends down itself, not queued. */
	struct queued_discard direct;
	/* A write-back discard that had to wait: retried until done. */
	struct queued_discard retry;
	/* Ordered discards queued, oldest first, for the disk to match. */
	struct queued_discard discards[MAX_DISCARDS];
	unsigned int discard_head, discard_tail;
	struct write_around around;
};

#define LOG_EVENTS 48

struct model {
	struct kunit *test;
	/* The last events, printed with a violation. */
	char log[LOG_EVENTS][64];
	unsigned int nr_log;
	struct dcache *c;
	struct mutex lock;	/* the model; never held while calling the cache */
	struct model_part parts[NR_DISKS];
	u64 next_version;
	u64 *version_epoch;	/* epoch of each version's write */
	u64 max_versions;
	u32 seed;
	unsigned int step;
	unsigned int chained;		/* writes leaving a block newer versions */
	unsigned int deep_chains;	/* of them, two or more */
	/* How often the schedule reached the paths of multi-block bios. */
	unsigned int mixed_runs;	/* writes absorbed into cached and new blocks */
	unsigned int around_claims;	/* write-arounds of uncached blocks */
	unsigned int around_pins;	/* write-arounds of cached blocks */
	unsigned int around_overtaken;	/* steps that met one in flight */
	unsigned int torn_loads;	/* miss runs that failed half way */
	bool grouped;		/* both parts ordered, in one consistency group */
	const char *failure;	/* first violation, set by a hook */
	char why[160];
};

/* Under m->lock. */
static __printf(2, 3) void log_event(struct model *m, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(m->log[m->nr_log++ % LOG_EVENTS], sizeof(m->log[0]), fmt, args);
	va_end(args);
}

static u64 block_version(const u8 *data)
{
	return *(const u64 *)data;
}

/* Block data of version @v: the first bytes say it, the rest shows a torn copy. */
static void stamp_version(u8 *data, u64 v)
{
	memset(data, (u8)v, BS);
	*(u64 *)data = v;
}

/* The version of block @addr after epoch @e: the last entry up to @e. */
static u64 state_after(const struct model_block *mb, u64 e)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < mb->nr_hist && mb->hist[i].epoch <= e; i++)
		v = mb->hist[i].version;
	return v;
}

/* @version of @mb was written (or discarded to) in epoch @e. */
static bool written_in(const struct model *m, const struct model_block *mb,
		       u64 version, u64 e)
{
	unsigned int i;

	if (version)
		return m->version_epoch[version] == e;
	for (i = 0; i < mb->nr_hist; i++)
		if (mb->hist[i].epoch == e)
			return mb->hist[i].discarded;
	return false;
}

static __printf(2, 3) void violation(struct model *m, const char *fmt, ...)
{
	va_list args;

	if (m->failure)
		return;
	va_start(args, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, args);
	va_end(args);
	m->failure = m->why;
	/* Now, in case what follows hangs: seed, step and what broke. */
	pr_notice("dcache model: seed %u, step %u: %s\n", m->seed, m->step, m->why);
}

static struct model_part *part_of(struct model *m, struct fake_disk *d)
{
	int i;

	for (i = 0; i < NR_DISKS; i++)
		if (m->parts[i].d == d)
			return &m->parts[i];
	return NULL;
}

static bool checked(const struct model_part *mp, u64 e)
{
	return mp->ordered && e > mp->ordered_after;
}

/* Under m->lock: the ordered disk is the state after k - 1 plus some of k. */
static void check_ordered_image(struct model *m, struct model_part *mp,
				const u8 *image, const char *what)
{
	u64 k = mp->stage, addr, v;

	if (!checked(mp, k))
		return;
	for (addr = 0; addr < NR_ADDRS; addr++) {
		v = block_version(image + addr * BS);
		if (v == state_after(&mp->blk[addr], k - 1) || written_in(m, &mp->blk[addr], v, k))
			continue;
		violation(m,
			  "%s, part %d stage %llu: block %llu at v%llu (e%llu), after e%llu: v%llu",
			  what, (int)(mp - m->parts), k, addr, v, m->version_epoch[v],
			  k - 1, state_after(&mp->blk[addr], k - 1));
		return;
	}
}

/* @mb holds version 0 from a discard of an epoch after @e. */
static bool discarded_after(const struct model_block *mb, u64 e)
{
	unsigned int i;

	for (i = 0; i < mb->nr_hist; i++)
		if (mb->hist[i].epoch > e && mb->hist[i].discarded)
			return true;
	return false;
}

/*
 * Under m->lock: @mp begins the stage of @e, so every other member of its
 * group must hold at least the state after e - 1 on its durable image.
 */
static void check_group_durable(struct model *m, struct model_part *mp, u64 e)
{
	struct model_part *o;
	u64 addr, v;

	for (o = m->parts; o < m->parts + NR_DISKS; o++) {
		if (o == mp)
			continue;
		for (addr = 0; addr < NR_ADDRS; addr++) {
			v = block_version(o->d->durable + addr * BS);
			if (v == state_after(&o->blk[addr], e - 1) ||
			    (v && m->version_epoch[v] >= e) ||
			    (!v && discarded_after(&o->blk[addr], e - 1)))
				continue;
			violation(m,
				  "group: part %d began stage %llu with part %d's durable block %llu at v%llu (e%llu), not v%llu",
				  (int)(mp - m->parts), e, (int)(o - m->parts), addr, v,
				  m->version_epoch[v], state_after(&o->blk[addr], e - 1));
			return;
		}
	}
}

/* Under m->lock: a disk event of epoch @e on an ordered part. */
static void stage_event(struct model *m, struct model_part *mp, u64 e)
{
	struct fake_disk *d = mp->d;
	u64 addr, v;

	if (!checked(mp, e))
		return;
	if (e < mp->stage) {
		violation(m, "part %d: epoch %llu reached the disk after stage %llu began",
			  (int)(mp - m->parts), e, mp->stage);
		return;
	}
	if (e == mp->stage)
		return;
	/* A new stage: every older one is durable, exactly. */
	for (addr = 0; addr < NR_ADDRS; addr++) {
		v = block_version(d->durable + addr * BS);
		if (v == state_after(&mp->blk[addr], e - 1))
			continue;
		violation(m,
			  "part %d: stage %llu began on durable block %llu at v%llu, not v%llu (e%llu)",
			  (int)(mp - m->parts), e, addr, v,
			  state_after(&mp->blk[addr], e - 1), e - 1);
		return;
	}
	if (m->grouped)
		check_group_durable(m, mp, e);
	mp->stage = e;
}

static void hook_write(void *ctx, struct fake_disk *d, u64 addr, const void *data)
{
	struct model *m = ctx;
	struct model_part *mp = part_of(m, d);
	u64 v = block_version(data), e;

	mutex_lock(&m->lock);
	e = m->version_epoch[v];
	log_event(m, "disk %d: write %llu v%llu (e%llu)", (int)(mp - m->parts), addr, v, e);
	if (v && state_after(&mp->blk[addr], e) != v && checked(mp, e))
		violation(m, "part %d: block %llu written at v%llu, not the last of e%llu",
			  (int)(mp - m->parts), addr, v, e);
	if (v)
		stage_event(m, mp, e);
	check_ordered_image(m, mp, d->data, "write");
	mutex_unlock(&m->lock);
}

static void hook_flush(void *ctx, struct fake_disk *d)
{
	struct model *m = ctx;
	struct model_part *mp = part_of(m, d);

	mutex_lock(&m->lock);
	log_event(m, "disk %d: flush", (int)(mp - m->parts));
	check_ordered_image(m, mp, d->durable, "flush");
	mutex_unlock(&m->lock);
}

/* Discards are issued only as ordered ones queued by the model. */
static void hook_discard(void *ctx, struct fake_disk *d, u64 addr, u64 nr)
{
	struct model *m = ctx;
	struct model_part *mp = part_of(m, d);
	struct queued_discard *q;
	u64 e = READ_ONCE(mp->wr->stage_epoch);

	mutex_lock(&m->lock);
	log_event(m, "disk %d: discard %llu+%llu in stage %llu", (int)(mp - m->parts), addr, nr, e);
	if (mp->direct.nr && mp->direct.addr == addr && mp->direct.nr == nr) {
		mp->direct.nr = 0;
	} else if (mp->discard_head == mp->discard_tail) {
		violation(m, "part %d: a discard of %llu+%llu that nobody queued",
			  (int)(mp - m->parts), addr, nr);
	} else {
		q = &mp->discards[mp->discard_head++ % MAX_DISCARDS];
		if (q->addr != addr || q->nr != nr || q->epoch != e)
			violation(m,
				  "part %d: discard %llu+%llu of e%llu issued in stage %llu as %llu+%llu",
				  (int)(mp - m->parts), q->addr, q->nr, q->epoch, e, addr, nr);
		stage_event(m, mp, q->epoch);
	}
	check_ordered_image(m, mp, d->data, "discard");
	mutex_unlock(&m->lock);
}

static const struct fake_disk_hooks model_hooks = {
	.write = hook_write,
	.flush = hook_flush,
	.discard = hook_discard,
};

/* Under m->lock: block @addr of @mp took @v in epoch @e. */
static void record(struct model *m, struct model_part *mp, u64 addr, u64 v, u64 e)
{
	struct model_block *mb = &mp->blk[addr];

	mb->cur = v;
	mb->unknown = false;
	if (mb->nr_hist && mb->hist[mb->nr_hist - 1].epoch == e) {
		mb->hist[mb->nr_hist - 1].version = v;
		mb->hist[mb->nr_hist - 1].discarded |= !v;
		return;
	}
	if (mb->nr_hist == MAX_HIST) {
		unsigned int keep = 0;

		/* Forget epochs the disk is past, keeping the base of stage - 1. */
		while (keep + 1 < mb->nr_hist && mb->hist[keep + 1].epoch < mp->stage)
			keep++;
		if (!keep) {
			violation(m, "history of block %llu full", addr);
			return;
		}
		memmove(mb->hist, mb->hist + keep, (mb->nr_hist - keep) * sizeof(*mb->hist));
		mb->nr_hist -= keep;
	}
	mb->hist[mb->nr_hist].epoch = e;
	mb->hist[mb->nr_hist].version = v;
	mb->hist[mb->nr_hist].discarded = !v;
	mb->nr_hist++;
}

/*
 * Whether @nr blocks from @addr meet @mp's write-around in flight: a get
 * of them would wait for its end, which this one thread would never reach.
 */
static bool around_busy(struct model *m, struct model_part *mp, u64 addr, u64 nr)
{
	struct write_around *wa = &mp->around;

	if (!wa->active || addr >= wa->addr + wa->nr || wa->addr >= addr + nr)
		return false;
	m->around_overtaken++;
	return true;
}

/*
 * A write into @b, got for it; @bring_page: an ordered writer brings a
 * page for copy-on-write. False when it was not taken.
 */
static bool write_block(struct model *m, struct model_part *mp, struct dcache_block *b,
			bool bring_page)
{
	struct dcache_version *spare;
	u64 addr = b->addr, v;
	int r;

	spare = mp->ordered && bring_page ? dcache_alloc_version(GFP_KERNEL) : NULL;
	r = dcache_mark_dirty(b, mp->ordered, &spare);
	dcache_free_version(spare);
	if (!r) {
		mutex_lock(&m->c->lock);
		if (!list_empty(&b->versions))
			m->chained++;
		if (!list_empty(&b->versions) && !list_is_singular(&b->versions))
			m->deep_chains++;
		mutex_unlock(&m->c->lock);
	}
	if (r) {
		/* Held for a stage or over the share: not acknowledged. */
		if (r == -EAGAIN)
			dcache_account_cow_wait(m->c);	/* as io.c: never retried */
		if (!dcache_block_dirty(b))
			dcache_invalidate(b);
		dcache_put(b, DCACHE_WRITE);
		return false;
	}
	mutex_lock(&m->lock);
	v = ++m->next_version;
	if (v < m->max_versions) {
		log_event(m, "part %d: %s write %llu v%llu e%llu", (int)(mp - m->parts),
			  mp->ordered ? "ordered" : "wb", addr, v, b->last_epoch);
		m->version_epoch[v] = b->last_epoch;
		record(m, mp, addr, v, b->last_epoch);
	} else {
		violation(m, "out of versions");
	}
	mutex_unlock(&m->lock);
	stamp_version(dcache_block_data(b), v);
	dcache_put(b, DCACHE_WRITE);
	return true;
}

/* A write as the worker does it, which may wait for its block. */
static void op_write(struct model *m, struct model_part *mp, u64 addr, bool bring_page)
{
	struct dcache_block *b;
	int r;

	if (around_busy(m, mp, addr, 1))
		return;
	r = dcache_get(mp->d->part, addr, DCACHE_WRITE, false, &b);
	KUNIT_ASSERT_EQ(m->test, r, 0);
	write_block(m, mp, b, bring_page);
}

/*
 * A write of @nr blocks as map() absorbs it (io.c: map_write): blocks got
 * without waiting, a new one for a block the cache has none of, until one
 * cannot be; the worker writes the rest.
 */
static void op_write_run(struct model *m, struct model_part *mp, u64 addr, unsigned int nr,
			 bool bring_page)
{
	unsigned int i, cached = 0, fresh = 0;
	struct dcache_block *b;

	for (i = 0; i < nr; i++) {
		b = dcache_try_get(mp->d->part, addr + i, DCACHE_WRITE);
		if (b) {
			cached++;
		} else {
			b = dcache_try_get_new(mp->d->part, addr + i);
			fresh += !!b;
		}
		if (!b || !write_block(m, mp, b, bring_page))
			break;
	}
	if (cached && fresh)
		m->mixed_runs++;
	for (; i < nr; i++)
		op_write(m, mp, addr + i, bring_page);
}

/* Whether a part has a pinned write-around in flight. */
static bool pinned_around(struct model *m)
{
	int i;

	for (i = 0; i < NR_DISKS; i++)
		if (m->parts[i].around.active && !m->parts[i].around.claimed)
			return true;
	return false;
}

/*
 * A write-around begins (write-back mode, as io.c: write_around): a claim
 * of blocks the cache has none of, else a run of idle clean blocks that
 * take its data and stay loading. Its versions are acknowledged when it
 * ends (op_write_around_end), some steps later.
 */
static void op_write_around(struct model *m, struct model_part *mp, u64 addr, unsigned int nr)
{
	struct write_around *wa = &mp->around;
	unsigned int i;

	if (mp->ordered || wa->active)
		return;
	wa->claimed = true;
	wa->nr = dcache_claim_uncached_write(mp->d->part, addr, nr, &wa->slot);
	/*
	 * A pinned run leaves the pool until it ends: two blocks in all, so
	 * that a get still finds a clean victim (the parts' shares leave four).
	 */
	if (!wa->nr && !pinned_around(m)) {
		wa->claimed = false;
		wa->nr = dcache_pin_write_run(mp->d->part, addr, min(nr, 2U), wa->blocks);
	}
	if (!wa->nr)
		return;		/* io.c absorbs it instead */
	wa->active = true;
	wa->addr = addr;
	if (wa->claimed)
		m->around_claims++;
	else
		m->around_pins++;
	mutex_lock(&m->lock);
	for (i = 0; i < wa->nr; i++) {
		wa->version[i] = ++m->next_version;
		if (wa->version[i] >= m->max_versions)
			violation(m, "out of versions");
	}
	log_event(m, "part %d: %s write-around %llu+%u from v%llu", (int)(mp - m->parts),
		  wa->claimed ? "claimed" : "pinned", addr, wa->nr, wa->version[0]);
	mutex_unlock(&m->lock);
	for (i = 0; !wa->claimed && i < wa->nr; i++)
		stamp_version(dcache_block_data(wa->blocks[i]), wa->version[i]);
}

static void op_read(struct model *m, struct model_part *mp, u64 addr);

/*
 * The write-around lands on the disk, or fails, and ends as dcache_end_bio
 * ends it: the disk owes a flush, the blocks turn valid (or invalid) or the
 * claim ends; then its versions are acknowledged.
 */
static void op_write_around_end(struct model *m, struct model_part *mp, int error)
{
	struct write_around *wa = &mp->around;
	struct fake_disk *d = mp->d;
	unsigned int i;
	u64 e;

	if (!wa->active)
		return;
	if (d->fail_writes)
		error = -EIO;
	for (i = 0; !error && i < wa->nr; i++)
		stamp_version(d->data + (wa->addr + i) * BS, wa->version[i]);
	dcache_writer_owe_flush(mp->wr);
	if (wa->claimed) {
		dcache_end_uncached_write(d->part, wa->slot);
	} else {
		dcache_write_run_end(wa->blocks, wa->nr, error);
		dcache_unpin_run(wa->blocks, wa->nr);
	}
	wa->active = false;
	mutex_lock(&m->lock);
	log_event(m, "part %d: write-around %llu+%u ended: %d", (int)(mp - m->parts),
		  wa->addr, wa->nr, error);
	e = dcache_current_epoch(d->part);
	for (i = 0; !error && i < wa->nr; i++) {
		m->version_epoch[wa->version[i]] = e;
		record(m, mp, wa->addr + i, wa->version[i], e);
	}
	mutex_unlock(&m->lock);
	/* Landed or not, what the cache serves now is the newest acknowledged. */
	for (i = 0; i < wa->nr; i++)
		op_read(m, mp, wa->addr + i);
}

/* A read of @addr gave version @v: the newest acknowledged one. */
static void check_read(struct model *m, struct model_part *mp, u64 addr, u64 v)
{
	mutex_lock(&m->lock);
	if (!mp->blk[addr].unknown && v != mp->blk[addr].cur)
		violation(m, "part %d: read of block %llu gave version %llu, acknowledged %llu",
			  (int)(mp - m->parts), addr, v, mp->blk[addr].cur);
	mutex_unlock(&m->lock);
}

static void op_read(struct model *m, struct model_part *mp, u64 addr)
{
	struct dcache_block *b;
	u64 v;
	int r;

	if (around_busy(m, mp, addr, 1))
		return;
	r = dcache_get(mp->d->part, addr, DCACHE_READ, false, &b);
	if (r) {
		/* Only a failing disk may refuse a read. */
		if (!mp->d->fail_reads)
			violation(m, "read of %llu failed: %d", addr, r);
		return;
	}
	v = block_version(dcache_block_data(b));
	dcache_put(b, DCACHE_READ);
	check_read(m, mp, addr, v);
}

/*
 * A read of @nr blocks as map() does it: the cached run, else a miss run
 * filled by one disk read (so the disk must hold the newest acknowledged
 * data of every block the cache has none for), else the worker's get.
 * With @ahead, a load ahead of a reader instead, checked the same way.
 */
static void op_read_run(struct model *m, struct model_part *mp, u64 addr, unsigned int nr,
			bool ahead)
{
	struct dcache_block *run[4];
	u64 v[4];
	unsigned int n, i;
	int r;

	/* Readahead: no reader, but its blocks' data must be right all the same. */
	if (ahead) {
		n = dcache_pin_ahead_run(mp->d->part, addr, nr, run);
		if (!n)
			return;
		goto load;
	}
	n = dcache_try_read_run(mp->d->part, addr, nr, run, NULL);
	if (n) {
		for (i = 0; i < n; i++)
			v[i] = block_version(dcache_block_data(run[i]));
		dcache_put_read_run(run, n);
		for (i = 0; i < n; i++)
			check_read(m, mp, addr + i, v[i]);
		return;
	}
	n = dcache_pin_uncached_run(mp->d->part, addr, nr, run);
	if (!n) {
		op_read(m, mp, addr);
		return;
	}
load:
	r = fake_disk_fill_run(mp->d, run, n);
	/* Copied while loading, as read_miss_end does. */
	for (i = 0; !r && i < n; i++)
		v[i] = block_version(dcache_block_data(run[i]));
	dcache_load_run_end(run, n, r);
	dcache_unpin_run(run, n);
	if (r && !mp->d->fail_reads)
		violation(m, "miss run at %llu failed: %d", addr, r);
	if (r && n > 1)
		m->torn_loads++;
	for (i = 0; !r && i < n; i++)
		check_read(m, mp, addr + i, v[i]);
}

/*
 * A read that goes around the cache, as read_around() does: the blocks
 * from @addr that the cache has none for, read from the disk with no pin,
 * must be the newest acknowledged data. (A failing disk fails the read.)
 */
static void op_read_around(struct model *m, struct model_part *mp, u64 addr, unsigned int nr)
{
	struct fake_disk *d = mp->d;
	struct dcache_block *run[4];
	unsigned int n = nr, i;

	i = dcache_try_read_run(d->part, addr, nr, run, &n);
	if (i) {
		/* Cached after all: map_read_blocks serves them. */
		dcache_put_read_run(run, i);
		return;
	}
	for (i = 0; i < n && !d->fail_reads; i++)
		check_read(m, mp, addr + i, block_version(d->data + (addr + i) * d->block_size));
}

static void op_discard(struct model *m, struct model_part *mp, u64 addr, u64 nr)
{
	struct dcache_discard *q = NULL;
	u64 e = 0, a;
	int r;

	/* Write-back ones are retried until done, as io.c does. */
	if (mp->retry.nr && (addr != mp->retry.addr || nr != mp->retry.nr))
		return;
	if (around_busy(m, mp, addr, nr))
		return;
	if (mp->ordered && !mp->retry.nr) {
		q = kzalloc(sizeof(*q), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(m->test, q);
	}
	r = dcache_discard_range(mp->d->part, addr, nr, q, &e);
	if (r) {
		kfree(q);
		if (q)
			return;		/* ordered: nothing changed */
		/* Write-back: some blocks are forgotten already. */
		mutex_lock(&m->lock);
		for (a = addr; a < addr + nr; a++)
			mp->blk[a].unknown = true;
		mp->retry = (struct queued_discard){ .addr = addr, .nr = nr };
		mutex_unlock(&m->lock);
		return;
	}
	mp->retry.nr = 0;
	/* Write-back: no epoch of its own; the stages of a later switch see it. */
	if (!q)
		e = dcache_current_epoch(mp->d->part);
	mutex_lock(&m->lock);
	for (a = addr; a < addr + nr; a++) {
		struct model_block *mb = &mp->blk[a];

		record(m, mp, a, 0, e);
		mb->unknown = true;
		mb->discard_gen++;
	}
	if (!q)
		mp->direct = (struct queued_discard){ .addr = addr, .nr = nr, .epoch = e };
	if (q) {
		if (mp->discard_tail - mp->discard_head == MAX_DISCARDS)
			violation(m, "too many discards queued");
		mp->discards[mp->discard_tail % MAX_DISCARDS] =
			(struct queued_discard){ .addr = addr, .nr = nr, .epoch = e };
		mp->discard_tail++;
	}
	mutex_unlock(&m->lock);
	if (!q) {
		/* Write-back mode sends it down at once, as io.c does. */
		mp->d->part->ops->discard(mp->d->part, addr, nr);
		dcache_writer_owe_flush(mp->wr);
	}
}

static void snap_take(struct model *m, struct model_part *mp)
{
	int a;

	mutex_lock(&m->lock);
	for (a = 0; a < NR_ADDRS; a++) {
		mp->snap.version[a] = mp->blk[a].cur;
		mp->snap.discard_gen[a] = mp->blk[a].discard_gen;
	}
	mutex_unlock(&m->lock);
}

/* A write-back flush returned 0: what it covers is durable. */
static void snap_check(struct model *m, struct model_part *mp)
{
	u64 v;
	int a;

	mutex_lock(&m->lock);
	for (a = 0; a < NR_ADDRS; a++) {
		if (mp->blk[a].discard_gen != mp->snap.discard_gen[a] ||
		    mp->blk[a].unknown)
			continue;
		v = block_version(mp->d->durable + a * BS);
		if (v < mp->snap.version[a])
			violation(m,
				  "part %d: flush gave 0, block %d durable at v%llu, acked v%llu",
				  (int)(mp - m->parts), a, v, mp->snap.version[a]);
	}
	mutex_unlock(&m->lock);
}

static void quick_flush_done(struct dcache_flush_req *req, int error)
{
	struct model_part *mp = container_of(req, struct model_part, quick_req);

	mp->quick_result = error;
	complete(&mp->quick_done);
}

/* As a flush bio: a quick flush when it may, else (or after one) a round. */
static void flush_fn(struct work_struct *work)
{
	struct model_part *mp = container_of(work, struct model_part, flush_work);

	if (mp->quick) {
		reinit_completion(&mp->quick_done);
		mp->quick_req.done = quick_flush_done;
		if (!dcache_writer_quick_flush(mp->wr, &mp->quick_req)) {
			mp->quick_flushes++;
			wait_for_completion(&mp->quick_done);
			if (mp->quick_result != -EAGAIN) {
				mp->flush_result = mp->quick_result;
				complete(&mp->flush_done);
				return;
			}
		}
	}
	mp->flush_result = dcache_writer_flush(mp->wr);
	complete(&mp->flush_done);
}

static void dump_part(struct model_part *mp, int i)
{
	struct dcache_kick *k = &mp->wr->kick;

	pr_notice("dcache model: part %d: kick %d %lu %llu/%llu %d held %d/%d fail %d/%d dirty %llu durable %lld stage %llu\n",
		  i, k->kicked, k->deadline, k->started, k->done,
		  delayed_work_pending(&mp->wr->round_work), atomic_read(&mp->d->held_writes),
		  mp->d->hold_writes, mp->d->fail_writes, mp->d->fail_flushes,
		  mp->d->part->nr_dirty, (s64)atomic64_read(&mp->wr->durable_epoch),
		  mp->wr->stage_epoch);
}

static void heal(struct model *m, struct model_part *mp);

static void flush_reap(struct model *m, struct model_part *mp, bool wait)
{
	int i;

	if (!mp->flushing)
		return;
	if (wait && !wait_for_completion_timeout(&mp->flush_done, 60 * HZ)) {
		violation(m, "part %d: a flush did not end in 60 s", (int)(mp - m->parts));
		for (i = 0; i < NR_DISKS; i++) {
			dump_part(&m->parts[i], i);
			heal(m, &m->parts[i]);
			dcache_writer_kick_within(m->parts[i].wr, 0);
		}
		/* Cleanup frees what the flush uses: it must end first. */
		wait_for_completion(&mp->flush_done);
	} else if (!wait && !completion_done(&mp->flush_done)) {
		return;
	}
	mp->flushing = false;
	if (!mp->flush_result && !mp->ordered)
		snap_check(m, mp);
}

static void op_flush(struct model *m, struct model_part *mp)
{
	if (mp->ordered) {
		u64 e = dcache_close_epoch(mp->d->part);

		mutex_lock(&m->lock);
		log_event(m, "part %d: close e%llu", (int)(mp - m->parts), e);
		mutex_unlock(&m->lock);
		return;
	}
	if (mp->flushing)
		return;
	snap_take(m, mp);
	mp->flushing = true;
	/* Half the flushes as map() sends them: quick when the dirt is small. */
	mp->quick = m->step & 1;
	reinit_completion(&mp->flush_done);
	queue_work(system_unbound_wq, &mp->flush_work);
}

static void op_mode(struct model *m, struct model_part *mp)
{
	/* A group's promise is an ordered one. */
	if (m->grouped)
		return;
	/* Not while a flush may wait for writes the disk holds. */
	flush_reap(m, mp, false);
	if (mp->flushing || mp->retry.nr || mp->around.active)
		return;
	mutex_lock(&m->lock);
	mp->ordered = !mp->ordered;
	log_event(m, "part %d: mode %s", (int)(mp - m->parts),
		  mp->ordered ? "ordered" : "writeback");
	mutex_unlock(&m->lock);
	if (mp->ordered) {
		/* As the mode message: what was written before is closed. */
		u64 closed = dcache_close_epoch(mp->d->part);

		mutex_lock(&m->lock);
		mp->ordered_after = closed;
		mp->stage = closed;
		log_event(m, "part %d: ordered after e%llu", (int)(mp - m->parts), closed);
		mutex_unlock(&m->lock);
	}
}

static void check_durable(struct model *m, struct model_part *mp)
{
	s64 now = atomic64_read(&mp->wr->durable_epoch);

	if (now < mp->durable_seen)
		violation(m, "part %d: durable epoch went from %lld to %lld",
			  (int)(mp - m->parts), mp->durable_seen, now);
	mp->durable_seen = now;
}

static void heal(struct model *m, struct model_part *mp)
{
	mp->d->fail_reads = false;
	mp->d->fail_writes = false;
	mp->d->fail_flushes = false;
	mp->d->hold_writes = false;
	fake_disk_end_writes(mp->d, 0);
}

static void step_once(struct model *m, struct rnd_state *rnd)
{
	struct model_part *mp = &m->parts[prandom_u32_state(rnd) % NR_DISKS];
	struct fake_disk *d = mp->d;
	u32 op = prandom_u32_state(rnd) % 100;
	u64 addr = prandom_u32_state(rnd) % 2 ? prandom_u32_state(rnd) % HOT_ADDRS :
		   prandom_u32_state(rnd) % NR_ADDRS;
	unsigned int nr;

	/* Half the reads aim at a write-around in flight, the window it opens. */
	if (op >= 40 && op < 52 && mp->around.active && prandom_u32_state(rnd) % 2)
		addr = mp->around.addr;
	nr = 1 + prandom_u32_state(rnd) % min_t(u64, 4, NR_ADDRS - addr);
	if (op < 32)
		op_write(m, mp, addr, prandom_u32_state(rnd) % 4);
	else if (op < 36)
		op_write_run(m, mp, addr, nr, prandom_u32_state(rnd) % 4);
	else if (op < 38)
		op_write_around(m, mp, addr, nr);
	else if (op < 40)
		op_write_around_end(m, mp, prandom_u32_state(rnd) % 4 ? 0 : -EIO);
	else if (op < 46)
		op_read(m, mp, addr);
	else if (op < 51)
		op_read_run(m, mp, addr,
			    1 + prandom_u32_state(rnd) % min_t(u64, 4, NR_ADDRS - addr),
			    op >= 49);
	else if (op < 52)
		op_read_around(m, mp, addr,
			       1 + prandom_u32_state(rnd) % min_t(u64, 4, NR_ADDRS - addr));
	else if (op < 64)
		op_flush(m, mp);
	else if (op < 70)
		op_discard(m, mp, addr,
			   1 + prandom_u32_state(rnd) % min_t(u64, 4, NR_ADDRS - addr));
	else if (op < 76)
		d->hold_writes = !d->hold_writes;
	else if (op < 84)
		fake_disk_end_writes(d, prandom_u32_state(rnd) % 4 ? 0 : -EIO);
	else if (op < 86)
		d->fail_writes = !d->fail_writes;
	else if (op < 88)
		d->fail_flushes = !d->fail_flushes;
	else if (op < 89)
		op_mode(m, mp);
	else if (op < 94)
		dcache_writer_kick_within(mp->wr, 0);
	else if (op < 96)
		heal(m, mp);
	else if (op < 98)
		d->fail_reads = !d->fail_reads;
	else
		usleep_range(100, 1000);	/* let the flusher run */
	if (mp->retry.nr)
		op_discard(m, mp, mp->retry.addr, mp->retry.nr);
	flush_reap(m, mp, false);
	check_durable(m, mp);
}

/* How often a test's runs reached the paths of multi-block bios. */
struct model_reach {
	unsigned int mixed_runs, around_claims, around_pins, around_overtaken, torn_loads;
};

static void model_run(struct kunit *test, u32 seed, unsigned int steps, bool grouped,
		      struct model_reach *reach)
{
	struct dcache *c = fake_cache(test, POOL_BLOCKS, BS, 0);
	struct dcache_flusher *fl = fake_flusher(test, c);
	struct model *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	struct rnd_state rnd;
	int i, a;
	unsigned int quick = 0;

	KUNIT_ASSERT_NOT_NULL(test, m);
	m->test = test;
	m->c = c;
	m->seed = seed;
	m->grouped = grouped;
	mutex_init(&m->lock);
	/* A step writes at most four blocks. */
	m->max_versions = 4 * steps + 2;
	m->version_epoch = kunit_kcalloc(test, m->max_versions, sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m->version_epoch);
	/* Each part's share keeps clean blocks in the pool: no get stalls. */
	dcache_set_part_dirty_percent(c, 40);
	prandom_seed_state(&rnd, seed);
	for (i = 0; i < NR_DISKS; i++) {
		struct model_part *mp = &m->parts[i];

		mp->d = fake_disk_add(test, c, NR_ADDRS);
		memset(mp->d->data, 0, NR_ADDRS * BS);
		memset(mp->d->durable, 0, NR_ADDRS * BS);
		mp->wr = fake_writer(test, fl, mp->d);
		/* Half the disks do FUA writes: their small stages need no flush. */
		mp->d->fua = (seed + i) & 1;
		mp->ordered = i == 0 || grouped;
		mp->ordered_after = 0;
		if (grouped)
			KUNIT_ASSERT_EQ(test, 0, dcache_part_join_group(mp->d->part, "model"));
		INIT_WORK(&mp->flush_work, flush_fn);
		init_completion(&mp->flush_done);
		init_completion(&mp->quick_done);
		mp->d->hooks_ctx = m;
		mp->d->hooks = &model_hooks;
	}

	for (m->step = 0; m->step < steps && !m->failure; m->step++) {
		step_once(m, &rnd);
		if (dcache_check(c))
			violation(m, "cache invariants broken");
	}
	/*
	 * Heal everything; then every acknowledged version reaches the disk.
	 * All disks first: a group's member waits for the others' disks.
	 */
	for (i = 0; i < NR_DISKS; i++) {
		heal(m, &m->parts[i]);
		op_write_around_end(m, &m->parts[i], 0);
	}
	for (i = 0; i < NR_DISKS && !m->failure; i++) {
		struct model_part *mp = &m->parts[i];

		heal(m, mp);
		flush_reap(m, mp, true);
		while (mp->retry.nr && !m->failure) {
			op_discard(m, mp, mp->retry.addr, mp->retry.nr);
			usleep_range(1000, 2000);
		}
		if (mp->ordered)
			dcache_close_epoch(mp->d->part);
		snap_take(m, mp);
		KUNIT_EXPECT_EQ_MSG(test, 0, dcache_writer_flush(mp->wr), "seed %u", seed);
		for (a = 0; a < NR_ADDRS; a++)
			if (!mp->blk[a].unknown &&
			    block_version(mp->d->durable + a * BS) != mp->blk[a].cur)
				violation(m,
					  "part %d: block %d durable at v%llu after the end, acked v%llu",
					  i, a, block_version(mp->d->durable + a * BS),
					  mp->blk[a].cur);
		check_durable(m, mp);
	}
	for (i = 0; i < NR_DISKS; i++) {
		struct model_part *mp = &m->parts[i];

		heal(m, mp);
		flush_reap(m, mp, true);
		cancel_work_sync(&mp->flush_work);
		mp->d->hooks = NULL;
	}
	KUNIT_EXPECT_FALSE_MSG(test, m->failure, "seed %u, step %u: %s", seed,
			       m->step, m->failure ?: "");
	if (m->failure)
		for (i = min_t(unsigned int, m->nr_log, LOG_EVENTS); i > 0; i--)
			pr_notice("dcache model: %s\n", m->log[(m->nr_log - i) % LOG_EVENTS]);
	for (i = 0; i < NR_DISKS; i++)
		quick += m->parts[i].quick_flushes;
	kunit_info(test, "seed %u: %u steps, %llu versions, epoch %llu, %lld copies on write (%u chained, %u deep, %lld waits), %u quick flushes\n",
		   seed, m->step, m->next_version, dcache_current_epoch(m->parts[0].d->part),
		   atomic64_read(&c->stats.cow_copies), m->chained, m->deep_chains,
		   atomic64_read(&c->stats.cow_waits), quick);
	/* Write-back flushes must take the quick path too. */
	if (!grouped)
		KUNIT_EXPECT_GT(test, quick, 0U);
	/* The console, not the test's log: 6.1 keeps 512 bytes of that. */
	pr_info("dcache model: seed %u: %u writes into cached and new blocks, write-arounds %u claimed and %u pinned (%u steps met one), %u loads failed half way\n",
		seed, m->mixed_runs, m->around_claims, m->around_pins, m->around_overtaken,
		m->torn_loads);
	/* The schedule must reach the copy-on-write paths it is to check. */
	KUNIT_EXPECT_GT(test, atomic64_read(&c->stats.cow_copies), 0);
	KUNIT_EXPECT_GT(test, m->chained, 0U);
	reach->mixed_runs += m->mixed_runs;
	reach->around_claims += m->around_claims;
	reach->around_pins += m->around_pins;
	reach->around_overtaken += m->around_overtaken;
	reach->torn_loads += m->torn_loads;
}

/* The runs of a test, together, reached the paths of multi-block bios. */
static void expect_reach(struct kunit *test, const struct model_reach *reach, bool grouped)
{
	KUNIT_EXPECT_GT(test, reach->mixed_runs, 0U);
	KUNIT_EXPECT_GT(test, reach->torn_loads, 0U);
	/* Write-arounds are write-back mode's, which a group has none of. */
	if (grouped)
		return;
	KUNIT_EXPECT_GT(test, reach->around_claims, 0U);
	KUNIT_EXPECT_GT(test, reach->around_pins, 0U);
	KUNIT_EXPECT_GT(test, reach->around_overtaken, 0U);
}

static void model_checker_test(struct kunit *test)
{
	struct model_reach reach = {};
	unsigned int runs = 3, i;

	for (i = 0; i < runs; i++)
		model_run(test, DCACHE_MODEL_SEED + i, DCACHE_MODEL_STEPS, false, &reach);
	expect_reach(test, &reach, false);
}

/* Both parts ordered, in one consistency group: their disks are a joint prefix. */
static void model_group_test(struct kunit *test)
{
	struct model_reach reach = {};
	unsigned int runs = 2, i;

	for (i = 0; i < runs; i++)
		model_run(test, DCACHE_MODEL_SEED + 100 + i, DCACHE_MODEL_STEPS, true, &reach);
	expect_reach(test, &reach, true);
}

static struct kunit_case dcache_model_cases[] = {
	KUNIT_CASE(model_checker_test),
	KUNIT_CASE(model_group_test),
	{}
};

static struct kunit_suite dcache_model_suite = {
	.name = "dcache_model",
	.test_cases = dcache_model_cases,
};

kunit_test_suites(&dcache_model_suite);
