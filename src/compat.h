/*
 * compat.h: the differences between the PostgreSQL majors cruddur builds
 * against (14 to 18), each under the PG_VERSION_NUM of the release that
 * made it, so that the call sites read the same on every major.
 */
#ifndef CRUDDUR_COMPAT_H
#define CRUDDUR_COMPAT_H

#include "access/genam.h"

/*
 * PostgreSQL 18 gave index_beginscan an "instrument" argument, where
 * EXPLAIN ANALYZE counts index searches; cruddur's scans report nothing.
 */
#if PG_VERSION_NUM >= 180000
#define cruddur_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan(heap, index, snapshot, NULL, nkeys, norderbys)
#else
#define cruddur_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan(heap, index, snapshot, nkeys, norderbys)
#endif

/* PostgreSQL 16 renamed a relation's RelFileNode to RelFileLocator */
#if PG_VERSION_NUM >= 160000
#define cruddur_relation_locator(rel) ((rel)->rd_locator)
#else
#define cruddur_relation_locator(rel) ((rel)->rd_node)
#endif

#endif							/* CRUDDUR_COMPAT_H */
