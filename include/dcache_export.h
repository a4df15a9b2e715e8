/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal functions are exported only to the KUnit module, and only when
 * the kernel has KUnit; the stock build exports nothing. Linux 6.2 has this
 * as <kunit/visibility.h>; 6.1 does not, so it is spelled out here.
 */
#ifndef DCACHE_EXPORT_H
#define DCACHE_EXPORT_H

#include <linux/export.h>

#ifndef EXPORT_SYMBOL_IF_KUNIT
#if IS_ENABLED(CONFIG_KUNIT)
#define EXPORT_SYMBOL_IF_KUNIT(symbol) \
	EXPORT_SYMBOL_NS(symbol, EXPORTED_FOR_KUNIT_TESTING)
#else
#define EXPORT_SYMBOL_IF_KUNIT(symbol)
#endif
#endif

#endif
