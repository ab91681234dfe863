/*-------------------------------------------------------------------------
 *
 * feed_scan.c
 *	  The feeds read straight from their indexes, without the executor.
 *
 * The feeds are the app's hottest reads.  Through a saved plan, most of a
 * small page's cost is the executor starting and ending: locking and
 * opening every relation of the plan and building its nodes and
 * expressions, for twenty rows.  Here a page walks the index that orders
 * the feed (activities_home_feed_idx, activities_user_feed_idx,
 * activities_replies_idx, or activities_pkey for one crud, which is first
 * looked for where it was found last time, as its first page of replies is
 * on the leaf page of activities_replies_idx they were last found on) with
 * the calling statement's snapshot (what SPI read-only would see), skips
 * the rows the query's quals skip, looks each author up once per call
 * (likewise, else in users' primary key), and formats the rows with
 * json_writer.c, so the text is the same as the saved plan's.  The reads of one call (a person and their
 * page, a crud and its replies) share one FeedReader: the relations, slots
 * and author lookups the first opened serve the second.  The rows are
 * fetched as heapam's index fetch does, except that each block is read
 * through the buffer it was last read in while that buffer still holds it
 * (read_block), for every call reads the same pages.  The predicate locks
 * of SERIALIZABLE are taken as under the plan: the index pages and rows
 * read, except that an author or a crud found by its hint is locked by its
 * row alone (its key cannot be inserted again while the row lives, and
 * changing the row conflicts on the row).
 *
 * It serves only when that is exactly what the query would return and check:
 * no ExecutorCheckPerms_hook (sepgsql) is loaded; neither table has row
 * level security enabled or inheritance children; the current user may
 * SELECT every column the query references (the whole table, or each of
 * those columns, as the executor checks them); both tables are heap tables
 * whose columns are as the install script made them (name, type, stored,
 * not virtual); and the index is a valid B-tree on the columns, in the
 * order and with the predicate the install script gave it, usable by the
 * statement's snapshot.  Otherwise feed_scan returns false and the caller
 * runs its saved plan, which applies policies and children and raises the
 * usual errors (42501 for a column or table the reader may not see).
 *
 * src/feed_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "compat.h"
#include "cruddur.h"

/* The columns read, by name and type; checked once per relcache change */
typedef struct Column
{
	const char *name;
	Oid			type;
} Column;

enum
{
	A_UUID, A_USER_UUID, A_MESSAGE, A_REPLIES_COUNT, A_REPOSTS_COUNT,
	A_LIKES_COUNT, A_REPLY_TO, A_EXPIRES_AT, A_CREATED_AT, A_NCOLUMNS
};

static const Column activities_columns[A_NCOLUMNS] = {
	[A_UUID] = {"uuid", UUIDOID},
	[A_USER_UUID] = {"user_uuid", UUIDOID},
	[A_MESSAGE] = {"message", TEXTOID},
	[A_REPLIES_COUNT] = {"replies_count", INT4OID},
	[A_REPOSTS_COUNT] = {"reposts_count", INT4OID},
	[A_LIKES_COUNT] = {"likes_count", INT4OID},
	[A_REPLY_TO] = {"reply_to_activity_uuid", UUIDOID},
	[A_EXPIRES_AT] = {"expires_at", TIMESTAMPOID},
	[A_CREATED_AT] = {"created_at", TIMESTAMPOID},
};

/*
 * The author's columns.  A feed object's fields named like U_DISPLAY_NAME
 * or U_HANDLE are the author's; every other field is the crud's column of
 * the same name.
 */
enum
{
	U_UUID, U_DISPLAY_NAME, U_HANDLE, U_NCOLUMNS
};

static const Column users_columns[U_NCOLUMNS] = {
	[U_UUID] = {"uuid", UUIDOID},
	[U_DISPLAY_NAME] = {"display_name", TEXTOID},
	[U_HANDLE] = {"handle", TEXTOID},
};

/* The most fields of an object the scans show */
#define MAX_FIELDS 16

/* The relations; a call opens those its reads need (FeedReader) */
enum
{
	R_ACTIVITIES, R_USERS, R_USERS_PKEY, R_HOME_FEED_IDX, R_USER_FEED_IDX,
	R_REPLIES_IDX, R_ACTIVITIES_PKEY, R_USERS_HANDLE_IDX, R_NRELATIONS
};

static const char *const relation_names[R_NRELATIONS] = {
	[R_ACTIVITIES] = "activities",
	[R_USERS] = "users",
	[R_USERS_PKEY] = "users_pkey",
	[R_HOME_FEED_IDX] = "activities_home_feed_idx",
	[R_USER_FEED_IDX] = "activities_user_feed_idx",
	[R_REPLIES_IDX] = "activities_replies_idx",
	[R_ACTIVITIES_PKEY] = "activities_pkey",
	[R_USERS_HANDLE_IDX] = "users_handle_lower_key",
};

/* What an index's predicate may be: none, or the install script's */
typedef enum Predicate
{
	PRED_NONE,					/* none at all */
	PRED_TOP_LEVEL,				/* none, or reply_to_activity_uuid IS NULL */
	PRED_REPLIES				/* none, or reply_to_activity_uuid IS NOT NULL */
} Predicate;

/*
 * How each feed is read: its index's key columns (descending or not), the
 * first of them compared for equality with the caller's key when "prefix",
 * then (created_at, uuid) the order and the cursor's columns; and the rows
 * the query's quals skip.
 */
typedef struct Feed
{
	int			index;			/* R_* */
	int			nkeys;
	int			keys[3];		/* A_* */
	bool		descending[3];
	bool		prefix;
	bool		unique;			/* a unique index: at most one row */
	Predicate	predicate;
	bool		top_level_only; /* skip replies */
	bool		unexpired_only; /* skip expired rows */
} Feed;

static const Feed feeds[FEED_NKINDS] = {
	[FEED_HOME] = {R_HOME_FEED_IDX, 2, {A_CREATED_AT, A_UUID}, {true, true},
	false, false, PRED_TOP_LEVEL, true, true},
	[FEED_USER] = {R_USER_FEED_IDX, 3, {A_USER_UUID, A_CREATED_AT, A_UUID},
	{false, true, true}, true, false, PRED_NONE, false, true},
	[FEED_REPLIES] = {R_REPLIES_IDX, 3, {A_REPLY_TO, A_CREATED_AT, A_UUID},
	{false, false, false}, true, false, PRED_REPLIES, false, false},
	[FEED_ACTIVITY] = {R_ACTIVITIES_PKEY, 1, {A_UUID}, {false},
	true, true, PRED_NONE, false, true},
};

/*
 * What we know of the extension's relations in one schema, kept until a
 * relcache invalidation of any of them (or of everything) clears "valid".
 */
typedef struct FeedRelations
{
	bool		valid;
	bool		tables_usable;	/* the tables and users_pkey are as needed */
	bool		feed_usable[FEED_NKINDS];	/* and each feed's index */
	bool		person_usable;	/* and users_handle_lower_key */
	Oid			nspid;
	Oid			relids[R_NRELATIONS];
	AttrNumber	activities_attnums[A_NCOLUMNS];
	AttrNumber	users_attnums[U_NCOLUMNS];
	/* person_scan's objects: their fields' columns of users, by object */
	int			npersons;
	struct
	{
		const JsonObject *object;
		bool		usable;		/* every field has its column */
		AttrNumber	attnums[MAX_FIELDS + 1];	/* and last, the handle */
	}			persons[4];
} FeedRelations;

static FeedRelations rels_cache;
static bool callback_registered = false;

/*
 * The authors, one entry per person, kept by the backend across calls for
 * one users relation (emptied when its relcache entry is invalidated, and
 * when full).
 *
 * Within a call an entry is the author's display_name and handle, looked
 * up once however many of the page's cruds are theirs ("call" says which
 * call they were read in).  Across calls it keeps where the author's row
 * was found: the heap TID users_pkey holds for it, which is the root of the
 * row's HOT chain, so that it finds the row again after a HOT update such
 * as a profile edit (the TID of the chain member found would not: a chain
 * is only followed from its root).  That is only a hint: a row found there
 * counts only if it is visible to the snapshot and has the author's uuid,
 * and then it is their row (the primary key allows one visible row per
 * uuid); otherwise users_pkey is asked.  It spares a B-tree descent per
 * author, most of a page of 1000's author lookups.
 */
#define AUTHORS_MAX 8192

typedef struct Author
{
	pg_uuid_t	uuid;			/* key */
	char		status;			/* simplehash's */
	bool		found;			/* false: no such person, the join drops the row */
	ItemPointerData tid;		/* the hint; invalid until the index finds it */
	uint64		call;			/* the call the values below are of */
	Datum		values[U_NCOLUMNS]; /* in that call's memory context */
	bool		nulls[U_NCOLUMNS];
} Author;

/*
 * The map is a simplehash (open addressing, inlined): a page of 1000 looks
 * an author up per row, and dynahash's hashing and calls were 5% of it.
 * The hash folds the uuid's 16 bytes, whose last 8 are random in version 4
 * and 7 uuids alike, into 32 bits and mixes them.
 */
static inline uint32
author_hash(const pg_uuid_t *uuid)
{
	uint64		a;
	uint64		b;

	memcpy(&a, uuid->data, sizeof(a));
	memcpy(&b, uuid->data + sizeof(a), sizeof(b));
	a ^= b;
	return murmurhash32((uint32) a ^ (uint32) (a >> 32));
}

#define SH_PREFIX authors
#define SH_ELEMENT_TYPE Author
#define SH_KEY_TYPE pg_uuid_t
#define SH_KEY uuid
#define SH_HASH_KEY(tb, key) author_hash(&(key))
#define SH_EQUAL(tb, a, b) (memcmp((a).data, (b).data, UUID_LEN) == 0)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static authors_hash *authors_map = NULL;
static Oid	authors_relid = InvalidOid;
static uint64 calls = 0;

/*
 * Where each crud read by its uuid (FEED_ACTIVITY) was found, kept by the
 * backend across calls for one activities relation as the authors' hints
 * are, and only a hint in the same way: the TID activities_pkey holds for
 * the crud, the root of its HOT chain.  Opening a crud is then one heap
 * fetch instead of a descent of activities_pkey, whose upper pages every
 * backend pins on every call.  Likewise the leaf page of
 * activities_replies_idx where its first reply was found: when that page
 * still holds every entry of the crud (leaf_tids), its first page of
 * replies is read off it instead of descending the index.  Emptied when
 * full: at most CRUDS_MAX cruds, held in 32768 buckets of 28 bytes
 * (896 kB).
 */
#define CRUDS_MAX 29000

typedef struct CrudHint
{
	pg_uuid_t	uuid;			/* key */
	char		status;			/* simplehash's */
	ItemPointerData tid;		/* the TID activities_pkey holds for it */
	BlockNumber replies_leaf;	/* or InvalidBlockNumber */
} CrudHint;

#define SH_PREFIX cruds
#define SH_ELEMENT_TYPE CrudHint
#define SH_KEY_TYPE pg_uuid_t
#define SH_KEY uuid
#define SH_HASH_KEY(tb, key) author_hash(&(key))
#define SH_EQUAL(tb, a, b) (memcmp((a).data, (b).data, UUID_LEN) == 0)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static cruds_hash *cruds_map = NULL;
static Oid	cruds_relid = InvalidOid;

static void
invalidate_relations(Datum arg, Oid relid)
{
	int			i;

	if (!OidIsValid(relid))
	{
		rels_cache.valid = false;
		authors_relid = cruds_relid = InvalidOid;
		return;
	}
	for (i = 0; i < R_NRELATIONS; i++)
		if (rels_cache.relids[i] == relid)
			rels_cache.valid = false;
	if (relid == authors_relid)
		authors_relid = InvalidOid;
	if (relid == cruds_relid)
		cruds_relid = InvalidOid;
}

/*
 * The attribute numbers of "columns" in "rel", into "attnums"; false when
 * one is missing, of another type, or a virtual generated column (computed
 * by the executor, so not in the tuple the scan reads).
 */
static bool
find_columns(Relation rel, const Column *columns, int ncolumns,
			 AttrNumber *attnums)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			c;
	int			i;

	for (c = 0; c < ncolumns; c++)
	{
		attnums[c] = InvalidAttrNumber;
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped &&
				strcmp(NameStr(att->attname), columns[c].name) == 0)
			{
				if (att->atttypid != columns[c].type)
					return false;
#ifdef ATTRIBUTE_GENERATED_VIRTUAL
				/* PostgreSQL 18 added virtual generated columns */
				if (att->attgenerated == ATTRIBUTE_GENERATED_VIRTUAL)
					return false;
#endif
				attnums[c] = att->attnum;
				break;
			}
		}
		if (attnums[c] == InvalidAttrNumber)
			return false;
	}
	return true;
}

/*
 * Whether "index" is a valid plain B-tree of "heap" on exactly the columns
 * "attnums" (with the default operator class of their types, descending
 * where "descending" says, with the default NULLS order for that
 * direction), so that scanning it yields the ORDER BY of the feed.
 */
static bool
index_is(Relation index, Oid heap, int nkeys, const AttrNumber *attnums,
		 const Oid *types, const bool *descending)
{
	Form_pg_index form = index->rd_index;
	int			i;

	if (index->rd_rel->relam != BTREE_AM_OID || form->indrelid != heap ||
		!form->indisvalid || !form->indimmediate ||
		form->indnkeyatts != nkeys)
		return false;
	for (i = 0; i < nkeys; i++)
	{
		int16		option = index->rd_indoption[i];

		if (form->indkey.values[i] != attnums[i] ||
			index->rd_opfamily[i] !=
			get_opclass_family(GetDefaultOpClass(types[i], BTREE_AM_OID)) ||
			((option & INDOPTION_DESC) != 0) != descending[i] ||
			((option & INDOPTION_NULLS_FIRST) != 0) != descending[i])
			return false;
	}
	return true;
}

/*
 * Whether the index's predicate is one "predicate" allows (the scan checks
 * reply_to_activity_uuid itself either way).
 */
static bool
predicate_is(Relation index, Predicate predicate, AttrNumber reply_to)
{
	List	   *quals = RelationGetIndexPredicate(index);
	NullTest   *test;

	if (quals == NIL)
		return true;
	if (predicate == PRED_NONE ||
		list_length(quals) != 1 || !IsA(linitial(quals), NullTest))
		return false;
	test = linitial_node(NullTest, quals);
	return test->nulltesttype ==
		(predicate == PRED_TOP_LEVEL ? IS_NULL : IS_NOT_NULL) &&
		!test->argisrow &&
		IsA(test->arg, Var) && ((Var *) test->arg)->varattno == reply_to;
}

/* Whether the index of "feed" is as the feed needs, "rel" the relations */
static bool
feed_index_is(const Feed *feed, Relation *rel)
{
	const AttrNumber *att = rels_cache.activities_attnums;
	Relation	index = rel[feed->index];
	AttrNumber	attnums[3];
	Oid			types[3];
	int			i;

	for (i = 0; i < feed->nkeys; i++)
	{
		attnums[i] = att[feed->keys[i]];
		types[i] = activities_columns[feed->keys[i]].type;
	}
	return index != NULL &&
		index_is(index, rels_cache.relids[R_ACTIVITIES], feed->nkeys,
				 attnums, types, feed->descending) &&
		(!feed->unique || index->rd_index->indisunique) &&
		predicate_is(index, feed->predicate, att[A_REPLY_TO]);
}

/*
 * Whether "index" is users_handle_lower_key as the install script made it:
 * a valid unique B-tree of "heap" on lower(handle COLLATE "C") alone, with
 * the "C" collation and text's default operator class, no predicate.
 */
static bool
handle_index_is(Relation index, Oid heap, AttrNumber handle)
{
	Form_pg_index form;
	List	   *exprs;
	FuncExpr   *lower;
	Node	   *arg;

	if (index == NULL)
		return false;
	form = index->rd_index;
	if (index->rd_rel->relam != BTREE_AM_OID || form->indrelid != heap ||
		!form->indisvalid || !form->indimmediate || !form->indisunique ||
		form->indnkeyatts != 1 || form->indkey.values[0] != 0 ||
		index->rd_indcollation[0] != C_COLLATION_OID ||
		index->rd_opfamily[0] !=
		get_opclass_family(GetDefaultOpClass(TEXTOID, BTREE_AM_OID)) ||
		(index->rd_indoption[0] & (INDOPTION_DESC | INDOPTION_NULLS_FIRST)) != 0 ||
		RelationGetIndexPredicate(index) != NIL)
		return false;
	exprs = RelationGetIndexExpressions(index);
	if (list_length(exprs) != 1 || !IsA(linitial(exprs), FuncExpr))
		return false;
	lower = linitial_node(FuncExpr, exprs);
	if (lower->funcid != F_LOWER_TEXT || lower->inputcollid != C_COLLATION_OID ||
		list_length(lower->args) != 1)
		return false;
	/* handle COLLATE "C": a RelabelType once the planner has simplified it */
	arg = linitial(lower->args);
	while (IsA(arg, RelabelType) || IsA(arg, CollateExpr))
		arg = IsA(arg, RelabelType) ? (Node *) ((RelabelType *) arg)->arg :
			(Node *) ((CollateExpr *) arg)->arg;
	return IsA(arg, Var) && ((Var *) arg)->varattno == handle;
}

/*
 * Look the relations up in "nspid" and check them, filling rels_cache.
 * Takes AccessShareLock on each, as the queries would.
 */
static void
fill_relations(Oid nspid)
{
	static const Oid pkey_types[] = {UUIDOID};
	static const bool ascending[] = {false};
	FeedRelations *c = &rels_cache;
	Relation	rel[R_NRELATIONS] = {NULL};
	int			i;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(invalidate_relations, (Datum) 0);
		callback_registered = true;
	}

	/*
	 * Valid from here: an invalidation that arrives while we fill (taking a
	 * lock reads them) clears it again, and the next call fills anew.
	 */
	memset(c, 0, sizeof(*c));
	c->valid = true;
	c->nspid = nspid;
	for (i = 0; i < R_NRELATIONS; i++)
	{
		c->relids[i] = get_relname_relid(relation_names[i], nspid);
		if (OidIsValid(c->relids[i]))
			rel[i] = try_relation_open(c->relids[i], AccessShareLock);
	}

	if (rel[R_ACTIVITIES] == NULL || rel[R_USERS] == NULL ||
		rel[R_USERS_PKEY] == NULL)
		goto done;
	for (i = R_ACTIVITIES; i <= R_USERS; i++)
		if (rel[i]->rd_rel->relkind != RELKIND_RELATION ||
			rel[i]->rd_rel->relam != HEAP_TABLE_AM_OID)
			goto done;
	if (!find_columns(rel[R_ACTIVITIES], activities_columns, A_NCOLUMNS,
					  c->activities_attnums) ||
		!find_columns(rel[R_USERS], users_columns, U_NCOLUMNS,
					  c->users_attnums) ||
		!index_is(rel[R_USERS_PKEY], c->relids[R_USERS], 1,
				  &c->users_attnums[U_UUID], pkey_types, ascending) ||
		!rel[R_USERS_PKEY]->rd_index->indisunique)
		goto done;
	c->tables_usable = true;
	for (i = 0; i < FEED_NKINDS; i++)
		c->feed_usable[i] = feed_index_is(&feeds[i], rel);
	c->person_usable = handle_index_is(rel[R_USERS_HANDLE_IDX],
									   c->relids[R_USERS],
									   c->users_attnums[U_HANDLE]);

done:
	for (i = 0; i < R_NRELATIONS; i++)
		if (rel[i] != NULL)
			relation_close(rel[i], NoLock);
}

/*
 * Whether "index" may be read with the statement's snapshot.  An index
 * built by CREATE INDEX CONCURRENTLY over broken HOT chains (indcheckxmin)
 * lacks entries for rows older snapshots still see, until its pg_index row
 * is older than every snapshot of ours: the planner's test.
 */
static bool
index_usable_now(Relation index)
{
	return !index->rd_index->indcheckxmin ||
		TransactionIdPrecedes(HeapTupleHeaderGetXmin(index->rd_indextuple->t_data),
							  TransactionXmin);
}

/*
 * Where the blocks the reads fetch rows from were last read, kept by the
 * backend across calls: a buffer per block, by relation and block number
 * modulo the size.  An entry only says which buffer to look in:
 * ReadRecentBuffer takes it when the buffer still holds that block of that
 * relation, which spares the buffer mapping's lookup (a hash and a shared
 * lock, where the cores meet on the same pages), and otherwise the block is
 * read as usual.  So stale entries need no invalidation.  The feeds' first
 * pages, and their authors, are read by every call.
 */
#define RECENT_BLOCKS 4096

typedef struct RecentBlock
{
	Oid			relid;
	BlockNumber block;
	Buffer		buffer;
} RecentBlock;

static RecentBlock *recent_blocks = NULL;

/*
 * Block "block" of "rel", pinned.  With "nblocks", a block that no buffer
 * still holds is read only if it is below the relation's length, asked
 * once into *nblocks (a system call); InvalidBuffer otherwise.  The block
 * of an index entry exists; a hint's may be past the end, which is an error
 * to read.
 */
static Buffer
read_block(Relation rel, BlockNumber block, BlockNumber *nblocks)
{
	Oid			relid = RelationGetRelid(rel);
	RecentBlock *recent;

	if (recent_blocks == NULL)
		recent_blocks = MemoryContextAllocZero(TopMemoryContext,
											   sizeof(RecentBlock) * RECENT_BLOCKS);
	recent = &recent_blocks[(block ^ murmurhash32(relid)) % RECENT_BLOCKS];
	if (BufferIsValid(recent->buffer) && recent->relid == relid &&
		recent->block == block &&
		ReadRecentBuffer(cruddur_relation_locator(rel), MAIN_FORKNUM, block,
						 recent->buffer))
		return recent->buffer;
	if (nblocks != NULL)
	{
		if (*nblocks == InvalidBlockNumber)
			*nblocks = RelationGetNumberOfBlocks(rel);
		if (block >= *nblocks)
			return InvalidBuffer;
	}
	recent->relid = relid;
	recent->block = block;
	recent->buffer = ReadBuffer(rel, block);
	return recent->buffer;
}

/*
 * Whether the HOT chain at "tid" in pinned block "buffer" of "heap" has a
 * member visible to "snapshot", stored into "slot" (in "tuple", which the
 * slot points to) as heapam's index fetch stores it: the search takes the
 * SERIALIZABLE predicate lock on the row and checks conflicts, and sets
 * *all_dead (when given) if every member is dead to everyone.
 */
static bool
fetch_in_block(Relation heap, Buffer buffer, ItemPointer tid,
			   Snapshot snapshot, HeapTuple tuple, bool *all_dead,
			   TupleTableSlot *slot)
{
	ItemPointerData member = *tid;	/* the search moves it along the chain */
	bool		found;

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	found = heap_hot_search_buffer(&member, heap, buffer, snapshot, tuple,
								   all_dead, true);
	LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
	if (found)
		ExecStoreBufferHeapTuple(tuple, slot, buffer);
	return found;
}

/*
 * The heap TIDs of one key's entries in an index, read off the one leaf
 * page that holds them all (leaf_tids) instead of through an index scan,
 * for next_row to take in order.
 */
typedef struct LeafTids
{
	Relation	heap;
	Relation	index;
	Snapshot	snapshot;
	int			ntids;
	int			next;
	ItemPointerData tids[MaxTIDsPerBTreePage];
} LeafTids;

/*
 * The next row of "scan", or else of "leaf", visible to its (MVCC)
 * snapshot, into "slot", as index_getnext_slot would find it: each TID's
 * HOT chain searched as heapam's index fetch searches it (the page pruned
 * when first pinned, the SERIALIZABLE predicate lock taken on the row, the
 * index told of chains all dead), but the block read through read_block.
 * "*current" is the buffer of the last row's block, kept pinned for the
 * next row; the caller releases it.
 */
static bool
next_row(IndexScanDesc scan, LeafTids *leaf, Buffer *current,
		 HeapTuple tuple, TupleTableSlot *slot)
{
	Relation	heap = scan ? scan->heapRelation : leaf->heap;
	Relation	index = scan ? scan->indexRelation : leaf->index;
	Snapshot	snapshot = scan ? scan->xs_snapshot : leaf->snapshot;
	ItemPointer tid;

	for (;;)
	{
		BlockNumber block;
		bool		all_dead = false;
		bool		found;

		if (scan != NULL)
			tid = index_getnext_tid(scan, ForwardScanDirection);
		else if (leaf->next < leaf->ntids)
		{
			tid = &leaf->tids[leaf->next++];
			pgstat_count_index_tuples(index, 1);
		}
		else
			tid = NULL;
		if (tid == NULL)
			return false;

		block = ItemPointerGetBlockNumber(tid);
		if (!BufferIsValid(*current) || BufferGetBlockNumber(*current) != block)
		{
			if (BufferIsValid(*current))
				ReleaseBuffer(*current);
			*current = read_block(heap, block, NULL);
			heap_page_prune_opt(heap, *current);
		}
		found = fetch_in_block(heap, *current, tid, snapshot, tuple,
							   &all_dead, slot);
		/* as index_fetch_heap: not in recovery, where it may violate MVCC */
		if (scan != NULL && !scan->xactStartedInRecovery)
			scan->kill_prior_tuple = all_dead;
		if (found)
		{
			pgstat_count_heap_fetch(index);
			return true;
		}
	}
}

/* What a call needs to look its authors up */
typedef struct Authors
{
	Relation	rel;
	const AttrNumber *attnums;
	TupleTableSlot *slot;		/* of users: the reader's users_slot */
	HeapTupleData tuple;		/* the author's row found, in the slot */
	Relation	pkey;			/* users_pkey */
	IndexScanDesc scan;			/* of pkey, NULL until a hint misses */
	BlockNumber nblocks;		/* of users, InvalidBlockNumber until needed */
} Authors;

/*
 * A call's reader: what the reads of one call (a profile and its page, a
 * crud and its replies) have opened so far, which the later ones use again
 * instead of opening it anew.  Each relation is opened with
 * AccessShareLock, as the queries would; feed_reader_end closes everything
 * (an error leaves it to the transaction's abort).
 */
struct FeedReader
{
	Oid			nspid;
	Relation	rel[R_NRELATIONS];	/* NULL until a read needs it */
	TupleTableSlot *activities_slot;
	TupleTableSlot *users_slot;
	Authors		authors;		/* rel NULL until a read needs them */
	int8		table_readable[2];	/* by R_ACTIVITIES/R_USERS: SELECT on
									 * the whole table; -1 not yet known */
};

/*
 * The reader of one call in schema "nspid" (palloc'd in the current
 * memory context): a new call, whose authors are to be read again.
 */
FeedReader *
feed_reader_begin(Oid nspid)
{
	FeedReader *reader = palloc0(sizeof(FeedReader));

	reader->nspid = nspid;
	reader->table_readable[R_ACTIVITIES] = -1;
	reader->table_readable[R_USERS] = -1;
	calls++;
	return reader;
}

/* Close what "reader" has opened; it may open things again after */
static void
reader_close(FeedReader *reader)
{
	Authors    *authors = &reader->authors;
	int			i;

	if (authors->scan != NULL)
		index_endscan(authors->scan);
	authors->scan = NULL;
	authors->rel = NULL;
	if (reader->activities_slot != NULL)
		ExecDropSingleTupleTableSlot(reader->activities_slot);
	if (reader->users_slot != NULL)
		ExecDropSingleTupleTableSlot(reader->users_slot);
	reader->activities_slot = reader->users_slot = NULL;
	for (i = 0; i < R_NRELATIONS; i++)
		if (reader->rel[i] != NULL)
		{
			relation_close(reader->rel[i], NoLock);
			reader->rel[i] = NULL;
		}
	reader->table_readable[R_ACTIVITIES] = -1;
	reader->table_readable[R_USERS] = -1;
}

/* End the call of "reader", closing everything it opened */
void
feed_reader_end(FeedReader *reader)
{
	reader_close(reader);
	pfree(reader);
}

/*
 * Open the relations "needed" (R_*) into the reader, those its earlier
 * reads have not opened, and check that rels_cache still describes them
 * and that their indexes may be read with the statement's snapshot.
 * "usable" is the rels_cache flag of the read's index.  Returns false when
 * the scan cannot serve.
 */
static bool
open_relations(FeedReader *reader, const int *needed, int nneeded,
			   const bool *usable)
{
	int			i;

	for (;;)
	{
		bool		opened = true;

		if (!rels_cache.valid || rels_cache.nspid != reader->nspid)
		{
			/* what the reader holds was checked against what changed */
			reader_close(reader);
			fill_relations(reader->nspid);
		}
		if (!rels_cache.tables_usable || !*usable)
			return false;

		for (i = 0; i < nneeded; i++)
			if (reader->rel[needed[i]] == NULL)
			{
				reader->rel[needed[i]] =
					try_relation_open(rels_cache.relids[needed[i]],
									  AccessShareLock);
				opened &= (reader->rel[needed[i]] != NULL);
			}
		if (!opened)
			return false;
		/* taking the locks read invalidations: is what we know still so? */
		if (rels_cache.valid)
		{
			for (i = 0; i < nneeded; i++)
				if (reader->rel[needed[i]]->rd_index != NULL &&
					!index_usable_now(reader->rel[needed[i]]))
					return false;
			return true;
		}
	}
}

/*
 * Whether the current user may read what the query reads of the reader's
 * table "which" (R_ACTIVITIES or R_USERS): its columns "attnums[c]" for
 * each bit c of "columns", as the executor checks them (the table, or else
 * each column), and no row level security or inheritance children that the
 * query would apply or add.
 */
static bool
readable(FeedReader *reader, int which, const AttrNumber *attnums,
		 uint32 columns)
{
	Relation	rel = reader->rel[which];
	Oid			relid = RelationGetRelid(rel);
	Oid			user = GetUserId();
	int			c;

	if (rel->rd_rel->relrowsecurity || rel->rd_rel->relhassubclass)
		return false;
	if (reader->table_readable[which] < 0)
		reader->table_readable[which] =
			pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK;
	if (reader->table_readable[which])
		return true;
	for (c = 0; columns != 0; c++, columns >>= 1)
		if ((columns & 1) &&
			pg_attribute_aclcheck(relid, attnums[c], user,
								  ACL_SELECT) != ACLCHECK_OK)
			return false;
	return true;
}

/* The reader's slot for rows of users, made on first use */
static TupleTableSlot *
users_slot(FeedReader *reader)
{
	if (reader->users_slot == NULL)
		reader->users_slot = table_slot_create(reader->rel[R_USERS], NULL);
	return reader->users_slot;
}

/* The reader's author lookups, begun on first use */
static Authors *
open_authors(FeedReader *reader)
{
	Authors    *authors = &reader->authors;

	if (authors->rel == NULL)
	{
		authors->rel = reader->rel[R_USERS];
		authors->pkey = reader->rel[R_USERS_PKEY];
		authors->attnums = rels_cache.users_attnums;
		authors->slot = users_slot(reader);
		authors->nblocks = InvalidBlockNumber;
	}
	return authors;
}

/*
 * Whether the row at hint "tid" of "rel" is the visible row whose uuid
 * (column "attnum") is "uuid", into "slot" (in "tuple"): the hint's HOT
 * chain searched as heapam's index fetch searches it (see next_row).  The
 * block may be past the end (*nblocks, see read_block): VACUUM may have
 * truncated the table between two calls (it gives its lock back before the
 * invalidation that empties the hints is sent); it cannot shrink while we
 * hold our lock.
 */
static bool
fetch_hinted(Relation rel, ItemPointer tid, AttrNumber attnum,
			 const pg_uuid_t *uuid, BlockNumber *nblocks, HeapTuple tuple,
			 TupleTableSlot *slot)
{
	Buffer		buffer;
	bool		found;
	bool		isnull;
	Datum		value;

	if (!ItemPointerIsValid(tid))
		return false;
	buffer = read_block(rel, ItemPointerGetBlockNumber(tid), nblocks);
	if (!BufferIsValid(buffer))
		return false;
	heap_page_prune_opt(rel, buffer);
	found = fetch_in_block(rel, buffer, tid, GetActiveSnapshot(), tuple, NULL,
						   slot);
	ReleaseBuffer(buffer);
	if (!found)
		return false;
	value = slot_getattr(slot, attnum, &isnull);
	return !isnull && memcmp(DatumGetUUIDP(value)->data, uuid->data,
							 UUID_LEN) == 0;
}

/*
 * The author's row from users_pkey into the slot, keeping in the hint the
 * TID the index holds for it (the root of its HOT chain).
 */
static bool
fetch_indexed(Authors *authors, Author *author)
{
	ScanKeyData key;
	Buffer		buffer = InvalidBuffer;
	bool		found;

	/* begun here: most calls find every author by their hint */
	if (authors->scan == NULL)
		authors->scan = cruddur_index_beginscan(authors->rel, authors->pkey,
												GetActiveSnapshot(), 1, 0);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ,
				UUIDPGetDatum(&author->uuid));
	index_rescan(authors->scan, &key, 1, NULL, 0);
	found = next_row(authors->scan, NULL, &buffer, &authors->tuple,
					 authors->slot);
	/* the index's TID: the search moved only a copy of it along the chain */
	if (found)
		author->tid = authors->scan->xs_heaptid;
	if (BufferIsValid(buffer))
		ReleaseBuffer(buffer);
	return found;
}

/*
 * The author of uuid, read once per call: by the hint, else in users_pkey.
 * The entry is the map's own, which moves when the map grows: use it
 * before the next lookup.
 */
static Author *
find_author(Authors *authors, const pg_uuid_t *uuid)
{
	Author	   *author;
	bool		known;
	int			c;

	/*
	 * Emptied in place when full or of another users relation: the buckets,
	 * once grown, are kept for the backend's life (at most some 1 MB), for
	 * freeing and growing them again moved the backend's peak memory.
	 */
	if (authors_map == NULL)
		authors_map = authors_create(TopMemoryContext, 1024, NULL);
	if (authors_relid != RelationGetRelid(authors->rel) ||
		authors_map->members >= AUTHORS_MAX)
	{
		authors_reset(authors_map);
		authors_relid = RelationGetRelid(authors->rel);
	}

	author = authors_insert(authors_map, *uuid, &known);
	if (!known)
		ItemPointerSetInvalid(&author->tid);
	else if (author->call == calls)
		return author;
	author->call = calls;

	author->found = fetch_hinted(authors->rel, &author->tid,
								 authors->attnums[U_UUID], &author->uuid,
								 &authors->nblocks, &authors->tuple,
								 authors->slot);
	if (!author->found)
		author->found = fetch_indexed(authors, author);
	if (author->found)
	{
		/* the shown columns (text), copied: the slot lets go of its buffer */
		for (c = U_DISPLAY_NAME; c < U_NCOLUMNS; c++)
		{
			Datum		value = slot_getattr(authors->slot,
											 authors->attnums[c],
											 &author->nulls[c]);

			author->values[c] = author->nulls[c] ? (Datum) 0 :
				datumCopy(value, false, -1);
		}
		ExecClearTuple(authors->slot);
	}
	return author;
}


/*
 * The crud hints of activities relation "rel", emptied in place when full
 * or of another relation (the buckets, once grown, kept as the authors'
 * are).
 */
static cruds_hash *
crud_hints(Relation rel)
{
	if (cruds_map == NULL)
		cruds_map = cruds_create(TopMemoryContext, 1024, NULL);
	if (cruds_relid != RelationGetRelid(rel) ||
		cruds_map->members >= CRUDS_MAX)
	{
		cruds_reset(cruds_map);
		cruds_relid = RelationGetRelid(rel);
	}
	return cruds_map;
}

/*
 * Whether the crud of uuid "uuid" is found by its hint in activities "rel",
 * into "slot" (in "tuple"): then it is the one row activities_pkey would
 * give, for the key allows one visible row per uuid.
 */
static bool
fetch_crud_hinted(Relation rel, const pg_uuid_t *uuid, HeapTuple tuple,
				  TupleTableSlot *slot)
{
	CrudHint   *hint = cruds_lookup(crud_hints(rel), *uuid);
	BlockNumber nblocks = InvalidBlockNumber;

	return hint != NULL &&
		fetch_hinted(rel, &hint->tid, rels_cache.activities_attnums[A_UUID],
					 uuid, &nblocks, tuple, slot);
}


/*
 * The crud hint of "uuid" in activities "rel", made if there is none yet
 * (knowing nothing).
 */
static CrudHint *
crud_hint(Relation rel, const pg_uuid_t *uuid)
{
	bool		known;
	CrudHint   *hint = cruds_insert(crud_hints(rel), *uuid, &known);

	if (!known)
	{
		ItemPointerSetInvalid(&hint->tid);
		hint->replies_leaf = InvalidBlockNumber;
	}
	return hint;
}

/*
 * How the first column of the entry at "offset" of B-tree leaf "page" of
 * "index" compares with "key" (a uuid, the column's type, whose default
 * operator class orders as memcmp does; NULLs last); *known is false for a
 * pivot that truncation left without the column.
 */
static int
leaf_key_cmp(Relation index, Page page, OffsetNumber offset,
			 const pg_uuid_t *key, bool *known)
{
	IndexTuple	itup = (IndexTuple) PageGetItem(page, PageGetItemId(page, offset));
	bool		isnull;
	Datum		value;

	*known = BTreeTupleGetNAtts(itup, index) >= 1;
	if (!*known)
		return 0;
	value = index_getattr(itup, 1, RelationGetDescr(index), &isnull);
	return isnull ? 1 : memcmp(DatumGetUUIDP(value)->data, key->data, UUID_LEN);
}

/*
 * The heap TIDs of every entry of B-tree "index" whose first column (a
 * uuid, as for leaf_key_cmp) is "key", in the index's order, read off block
 * "block" alone into "leaf"; false unless that block is a live leaf page
 * that holds all of them.  It does when the page's first entry is below
 * the key (or no page is to its left) and its high key above it (or no
 * page is to its right): the page's entries are above its left sibling's
 * high key and at most its own, whatever splits, deletions or reuse of the
 * page happened since the block was noted (under our share lock it can
 * neither split nor go), so no entry of the key is on another page.  The
 * entries read are those a scan would return: entries inserted since are
 * of transactions the snapshot cannot see, as for a scan that lets go of
 * the page before fetching its rows.  The page is locked for SERIALIZABLE
 * as a scan's would be.
 */
static bool
leaf_tids(Relation index, BlockNumber block, const pg_uuid_t *key,
		  LeafTids *leaf)
{
	BlockNumber nblocks = InvalidBlockNumber;
	Buffer		buffer = read_block(index, block, &nblocks);
	Page		page;
	BTPageOpaque opaque;
	OffsetNumber low;
	OffsetNumber high;
	OffsetNumber maxoff;
	bool		known;
	bool		holds = false;

	if (!BufferIsValid(buffer))
		return false;
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buffer);
	if (PageIsNew(page) ||
		PageGetSpecialSize(page) != MAXALIGN(sizeof(BTPageOpaqueData)))
		goto done;
	opaque = (BTPageOpaque) PageGetSpecialPointer(page);
	if (!P_ISLEAF(opaque) || P_IGNORE(opaque))
		goto done;
	low = P_FIRSTDATAKEY(opaque);
	maxoff = PageGetMaxOffsetNumber(page);
	if (!P_RIGHTMOST(opaque) &&
		(leaf_key_cmp(index, page, P_HIKEY, key, &known) <= 0 || !known))
		goto done;
	if (!P_LEFTMOST(opaque) &&
		(low > maxoff || leaf_key_cmp(index, page, low, key, &known) >= 0))
		goto done;

	/* the first entry not below the key */
	high = maxoff + 1;
	while (low < high)
	{
		OffsetNumber mid = low + (high - low) / 2;

		if (leaf_key_cmp(index, page, mid, key, &known) < 0)
			low = mid + 1;
		else
			high = mid;
	}
	leaf->ntids = leaf->next = 0;
	for (; low <= maxoff && leaf_key_cmp(index, page, low, key, &known) == 0;
		 low++)
	{
		IndexTuple	itup = (IndexTuple) PageGetItem(page,
													PageGetItemId(page, low));

		if (BTreeTupleIsPosting(itup))
		{
			int			i;

			for (i = 0; i < BTreeTupleGetNPosting(itup); i++)
				leaf->tids[leaf->ntids++] = *BTreeTupleGetPostingN(itup, i);
		}
		else
			leaf->tids[leaf->ntids++] = itup->t_tid;
	}
	PredicateLockPage(index, block, leaf->snapshot);
	holds = true;

done:
	LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
	ReleaseBuffer(buffer);
	return holds;
}

/*
 * The TIDs of the replies to crud "uuid" read off the leaf page of
 * activities_replies_idx its hint names, or NULL when it has none or the
 * page does not hold them all.  The one LeafTids is the backend's.
 */
static LeafTids *
replies_hinted(FeedReader *reader, const pg_uuid_t *uuid)
{
	static LeafTids *leaf = NULL;
	CrudHint   *hint = cruds_lookup(crud_hints(reader->rel[R_ACTIVITIES]),
									*uuid);

	/* (the page is let go before the rows are fetched, as for MVCC scans) */
	if (hint == NULL || !BlockNumberIsValid(hint->replies_leaf) ||
		!IsMVCCSnapshot(GetActiveSnapshot()))
		return NULL;
	if (leaf == NULL)
		leaf = MemoryContextAlloc(TopMemoryContext, sizeof(LeafTids));
	leaf->heap = reader->rel[R_ACTIVITIES];
	leaf->index = reader->rel[R_REPLIES_IDX];
	leaf->snapshot = GetActiveSnapshot();
	return leaf_tids(leaf->index, hint->replies_leaf, uuid, leaf) ? leaf : NULL;
}

/*
 * Where each field of a feed object comes from, by the field's key: the
 * crud's column A_* of that name, or the author's U_* (as A_NCOLUMNS +
 * U_*); and the bits of the columns each table shows.  The objects are
 * static (feeds.c), so their maps are made once per backend.
 */
typedef struct FieldMap
{
	const JsonObject *object;
	int			source[MAX_FIELDS];
	uint32		activities_shown;
	uint32		users_shown;
} FieldMap;

static FieldMap field_maps[8];
static int	nfield_maps = 0;

static const FieldMap *
field_map(const JsonObject *object)
{
	FieldMap   *map;
	int			f;
	int			c;

	for (map = field_maps; map < field_maps + nfield_maps; map++)
		if (map->object == object)
			return map;
	if (nfield_maps == lengthof(field_maps))
		elog(ERROR, "too many feed objects");
	Assert(object->nfields <= MAX_FIELDS);
	map = &field_maps[nfield_maps];
	memset(map, 0, sizeof(*map));
	for (f = 0; f < object->nfields; f++)
	{
		const char *key = object->fields[f].column;

		for (c = U_DISPLAY_NAME; c < U_NCOLUMNS; c++)
			if (strcmp(key, users_columns[c].name) == 0)
				break;
		if (c < U_NCOLUMNS)
		{
			map->source[f] = A_NCOLUMNS + c;
			map->users_shown |= 1 << c;
			continue;
		}
		for (c = 0; c < A_NCOLUMNS; c++)
			if (strcmp(key, activities_columns[c].name) == 0)
				break;
		/* a key of no column cannot happen: the objects are ours */
		if (c == A_NCOLUMNS)
			elog(ERROR, "feed field \"%s\" has no column", key);
		map->source[f] = c;
		map->activities_shown |= 1 << c;
	}
	map->object = object;
	nfield_maps++;
	return map;
}

/*
 * Append a page of feed "kind" to "buf" as its saved plan would: at most
 * "page_size" objects of shape "object" (whose keys name their
 * columns), separated by commas, in the feed's order.  "key" is the value
 * the index's first column equals (the person, the crud replied to, or the
 * crud) for the feeds that have one; "cursor" (created_at, uuid) is where
 * the page starts after, when given.  "now" is the current time in UTC.
 * Sets *nrows to the objects written.  Returns false, having written
 * nothing, when the scan cannot serve (see the top of this file).
 */
bool
feed_scan(FeedReader *reader, FeedKind kind, Datum key, const Datum *cursor,
		  int page_size, Timestamp now, StringInfo buf,
		  const JsonObject *object, uint64 *nrows)
{
	const Feed *feed = &feeds[kind];
	const int	needed[] = {R_ACTIVITIES, R_USERS, R_USERS_PKEY, feed->index};

	/* a crud by its uuid opens activities_pkey when its hint misses */
	int			nneeded = lengthof(needed) - (feed->unique ? 1 : 0);
	const AttrNumber *att = rels_cache.activities_attnums;
	const FieldMap *map = field_map(object);
	uint32		activities_read = map->activities_shown | 1 << A_USER_UUID;
	Timestamp	after_created_at = 0;
	const pg_uuid_t *after_uuid = NULL;
	ScanKeyData keys[2];
	int			nkeys = 0;
	int			hinted = 0;
	IndexScanDesc scan = NULL;
	LeafTids   *leaf = NULL;
	bool		leaf_noted = false;
	TupleTableSlot *slot;
	Buffer		current = InvalidBuffer;
	HeapTupleData tuple;
	Authors    *authors;
	int			i;

	*nrows = 0;
	if (ExecutorCheckPerms_hook != NULL || !ActiveSnapshotSet() ||
		!open_relations(reader, needed, nneeded,
						&rels_cache.feed_usable[kind]))
		return false;

	/* every column the query references: shown, ordered, filtered, joined */
	for (i = 0; i < feed->nkeys; i++)
		activities_read |= 1 << feed->keys[i];
	if (feed->top_level_only)
		activities_read |= 1 << A_REPLY_TO;
	if (feed->unexpired_only)
		activities_read |= 1 << A_EXPIRES_AT;
	if (!readable(reader, R_ACTIVITIES, att, activities_read) ||
		!readable(reader, R_USERS, rels_cache.users_attnums,
				  map->users_shown | 1 << U_UUID))
		return false;

	authors = open_authors(reader);
	if (feed->prefix)
		ScanKeyInit(&keys[nkeys++], 1, BTEqualStrategyNumber, F_UUID_EQ, key);
	if (cursor)
	{
		/*
		 * created_at at or beyond the cursor's, in the feed's direction,
		 * positions the scan; the rows of that same created_at not strictly
		 * after the cursor are skipped below.
		 */
		bool		descending = feed->descending[nkeys];

		after_created_at = DatumGetTimestamp(cursor[0]);
		after_uuid = DatumGetUUIDP(cursor[1]);
		ScanKeyInit(&keys[nkeys], nkeys + 1,
					descending ? BTLessEqualStrategyNumber : BTGreaterEqualStrategyNumber,
					descending ? F_TIMESTAMP_LE : F_TIMESTAMP_GE, cursor[0]);
		nkeys++;
	}
	if (reader->activities_slot == NULL)
		reader->activities_slot = table_slot_create(reader->rel[R_ACTIVITIES],
													NULL);
	slot = reader->activities_slot;

	/* a crud by its uuid: its one row where it was found last, if still so */
	if (feed->unique)
		hinted = fetch_crud_hinted(reader->rel[R_ACTIVITIES],
								   DatumGetUUIDP(key), &tuple, slot);
	/* a crud's first page of replies: off the leaf of the first, if all there */
	else if (kind == FEED_REPLIES && cursor == NULL)
		leaf = replies_hinted(reader, DatumGetUUIDP(key));
	if (!hinted && leaf == NULL)
	{
		if (reader->rel[feed->index] == NULL)
		{
			/* taking the lock may close the reader, the slot with it */
			ExecClearTuple(slot);
			if (!open_relations(reader, &feed->index, 1,
								&rels_cache.feed_usable[kind]) ||
				reader->activities_slot != slot)
				return false;
		}
		scan = cruddur_index_beginscan(reader->rel[R_ACTIVITIES],
									   reader->rel[feed->index],
									   GetActiveSnapshot(), nkeys, 0);
		index_rescan(scan, keys, nkeys, NULL, 0);
	}

	while (*nrows < page_size &&
		   (scan != NULL || leaf != NULL ?
			next_row(scan, leaf, &current, &tuple, slot) : hinted-- > 0))
	{
		Datum		values[MAX_FIELDS];
		bool		nulls[MAX_FIELDS];
		Author	   *author;

		CHECK_FOR_INTERRUPTS();
		/* the TID the index holds: the root of the crud's HOT chain */
		if (feed->unique && scan != NULL)
			crud_hint(reader->rel[R_ACTIVITIES],
					  DatumGetUUIDP(key))->tid = scan->xs_heaptid;
		/* the leaf page the scan read the first reply on */
		if (kind == FEED_REPLIES && scan != NULL && cursor == NULL &&
			!leaf_noted)
		{
			crud_hint(reader->rel[R_ACTIVITIES], DatumGetUUIDP(key))->replies_leaf =
				((BTScanOpaque) scan->opaque)->currPos.currPage;
			leaf_noted = true;
		}
		slot_getallattrs(slot);

#define COLUMN(c) (slot->tts_values[att[c] - 1])
#define ISNULL(c) (slot->tts_isnull[att[c] - 1])
		/* a reply, or expired */
		if ((feed->top_level_only && !ISNULL(A_REPLY_TO)) ||
			(feed->unexpired_only && !ISNULL(A_EXPIRES_AT) &&
			 DatumGetTimestamp(COLUMN(A_EXPIRES_AT)) <= now))
			continue;
		/* not strictly after the cursor (the key let equal ones through) */
		if (cursor &&
			DatumGetTimestamp(COLUMN(A_CREATED_AT)) == after_created_at)
		{
			int			cmp = memcmp(DatumGetUUIDP(COLUMN(A_UUID))->data,
									 after_uuid->data, UUID_LEN);

			if (feed->descending[nkeys - 1] ? cmp >= 0 : cmp <= 0)
				continue;
		}

		/* the join: no author, no row */
		if (ISNULL(A_USER_UUID))
			continue;
		author = find_author(authors, DatumGetUUIDP(COLUMN(A_USER_UUID)));
		if (!author->found)
			continue;

		for (i = 0; i < object->nfields; i++)
		{
			int			source = map->source[i];

			if (source >= A_NCOLUMNS)
			{
				values[i] = author->values[source - A_NCOLUMNS];
				nulls[i] = author->nulls[source - A_NCOLUMNS];
			}
			else
			{
				values[i] = COLUMN(source);
				nulls[i] = ISNULL(source);
			}
		}
#undef COLUMN
#undef ISNULL

		if ((*nrows)++ > 0)
			appendStringInfoCharMacro(buf, ',');
		json_append_object(buf, object, values, nulls);
	}

	ExecClearTuple(slot);
	if (BufferIsValid(current))
		ReleaseBuffer(current);
	if (scan != NULL)
		index_endscan(scan);
	return true;
}

/*
 * The columns of users that person_scan's "object" shows, and last the
 * handle the condition reads, into "attnums"; false when one is missing or
 * not as the object needs.  Kept in rels_cache.
 */
static bool
person_columns(Relation users, const JsonObject *object,
			   const AttrNumber **attnums)
{
	static const JsonKind kinds[] = {JSON_UUID, JSON_TEXT, JSON_INT4, JSON_INT8,
	JSON_TIMESTAMP};
	static const Oid types[] = {UUIDOID, TEXTOID, INT4OID, INT8OID, TIMESTAMPOID};
	Column		columns[MAX_FIELDS + 1];
	int			n;
	int			i;
	int			k;

	for (n = 0; n < rels_cache.npersons; n++)
		if (rels_cache.persons[n].object == object)
			break;
	if (n == rels_cache.npersons)
	{
		if (n == lengthof(rels_cache.persons))
			elog(ERROR, "too many person objects");
		Assert(object->nfields <= MAX_FIELDS);
		for (i = 0; i < object->nfields; i++)
		{
			for (k = 0; kinds[k] != object->fields[i].kind; k++)
				;
			columns[i].name = object->fields[i].column;
			columns[i].type = types[k];
		}
		columns[i] = users_columns[U_HANDLE];
		rels_cache.persons[n].usable =
			find_columns(users, columns, object->nfields + 1,
						 rels_cache.persons[n].attnums);
		rels_cache.persons[n].object = object;
		rels_cache.npersons++;
	}
	*attnums = rels_cache.persons[n].attnums;
	return rels_cache.persons[n].usable;
}

/*
 * Append the person whose handle is "handle" regardless of ASCII case to
 * "buf" as the saved plan would (lower(handle COLLATE "C") =
 * lower($1 COLLATE "C"), through users_handle_lower_key): one object of
 * shape "object", whose fields name their columns of users.  Sets *found,
 * and *uuid to the person's.  Returns false, having written nothing, when
 * the direct read cannot serve (the rules at the top of this file, for
 * users and that index).
 */
bool
person_scan(FeedReader *reader, Datum handle, StringInfo buf,
			const JsonObject *object, bool *found, pg_uuid_t *uuid)
{
	static const int needed[] = {R_USERS, R_USERS_HANDLE_IDX};
	const AttrNumber *attnums;
	ScanKeyData key;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Buffer		current = InvalidBuffer;
	HeapTupleData tuple;

	*found = false;
	if (ExecutorCheckPerms_hook != NULL || !ActiveSnapshotSet() ||
		!open_relations(reader, needed, lengthof(needed),
						&rels_cache.person_usable) ||
		!person_columns(reader->rel[R_USERS], object, &attnums) ||
		!readable(reader, R_USERS, attnums,
				  ((uint32) 2 << object->nfields) - 1))
		return false;

	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   C_COLLATION_OID, F_TEXTEQ,
						   DirectFunctionCall1Coll(lower, C_COLLATION_OID,
												   handle));
	slot = users_slot(reader);
	scan = cruddur_index_beginscan(reader->rel[R_USERS],
								   reader->rel[R_USERS_HANDLE_IDX],
								   GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	if (next_row(scan, NULL, &current, &tuple, slot))
	{
		Datum		values[MAX_FIELDS];
		bool		nulls[MAX_FIELDS];
		bool		isnull;
		int			i;

		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < object->nfields; i++)
			values[i] = slot_getattr(slot, attnums[i], &nulls[i]);
		json_append_object(buf, object, values, nulls);
		*uuid = *DatumGetUUIDP(slot_getattr(slot,
											rels_cache.users_attnums[U_UUID],
											&isnull));
		*found = true;
	}
	ExecClearTuple(slot);
	if (BufferIsValid(current))
		ReleaseBuffer(current);
	index_endscan(scan);
	return true;
}
