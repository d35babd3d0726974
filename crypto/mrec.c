/*
 * crypto/mrec.c - the packed member record: codec, field accessors and the
 * update script (see mrec.h).
 */
#include "crypto/mrec.h"
#include "core/util.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

enum type { T_NONE = 0, T_RAW, T_INT, T_MID, T_STATE, T_TEXT };

struct field {
    const char *name;
    enum type type;
};

/* Indexed by tag. */
static const struct field fields[CRY_MR_TAGS] = {
    [CRY_MR_WA] = {"wa", T_RAW},     [CRY_MR_UID] = {"uid", T_RAW},
    [CRY_MR_CT] = {"ct", T_INT},     [CRY_MR_LI] = {"li", T_INT},
    [CRY_MR_MG] = {"mg", T_MID},     [CRY_MR_ST] = {"st", T_STATE},
    [CRY_MR_G] = {"g", T_TEXT},      [CRY_MR_LANG] = {"lang", T_TEXT},
    [CRY_MR_DS] = {"ds", T_TEXT},    [CRY_MR_DD] = {"dd", T_TEXT},
    [CRY_MR_CV] = {"cv", T_TEXT},    [CRY_MR_CTS] = {"cts", T_INT},
    [CRY_MR_JT] = {"jt", T_INT},     [CRY_MR_NP] = {"np", T_INT},
    [CRY_MR_SK] = {"sk", T_INT},     [CRY_MR_LBL] = {"lbl", T_TEXT},
};

static const char *const states[CRY_MREC_N_STATES] = CRY_MREC_STATES;

#define INT_BYTES 6 /* CRY_MREC_INT_MAX = 2^48 */

/*
 * The update. KEYS[1] = bucket; ARGV[1] = binary mid (field); then pairs:
 * a 2-byte code (op letter, tag byte) and a value. Ops: E compare equal,
 * A compare absent (both checked before anything is written), S set,
 * D delete, N set if absent, M raise an integer, I add a decimal delta.
 * Returns 1 written, 0 a compare failed, -2 the stored record is
 * malformed, -3 the result is out of bounds (too long, negative counter).
 */
static struct core_redis_script update_script = {
    "mrec_update",
    "local raw = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "local t = {}\n"
    "if raw then\n"
    "  if string.byte(raw, 1) ~= 1 then return -2 end\n"
    "  local i, n = 2, #raw\n"
    "  while i <= n do\n"
    "    local tag, l = string.byte(raw, i, i + 1)\n"
    "    if not l then return -2 end\n"
    "    i = i + 2\n"
    "    if l >= 128 then\n"
    "      local l2 = string.byte(raw, i)\n"
    "      if not l2 then return -2 end\n"
    "      l = l - 128 + l2 * 128\n"
    "      i = i + 1\n"
    "    end\n"
    "    if i + l - 1 > n or t[tag] then return -2 end\n"
    "    t[tag] = string.sub(raw, i, i + l - 1)\n"
    "    i = i + l\n"
    "  end\n"
    "end\n"
    "local function int(s)\n"
    "  local x = 0\n"
    "  for k = #s, 1, -1 do x = x * 256 + string.byte(s, k) end\n"
    "  return x\n"
    "end\n"
    "local function bytes(x)\n"
    "  local b = {}\n"
    "  while x > 0 do b[#b + 1] = string.char(x % 256) x = math.floor(x / 256) end\n"
    "  return table.concat(b)\n"
    "end\n"
    "for k = 2, #ARGV, 2 do\n"
    "  local op, tag = string.byte(ARGV[k], 1, 2)\n"
    "  if op == 69 and t[tag] ~= ARGV[k + 1] then return 0 end\n"
    "  if op == 65 and t[tag] ~= nil then return 0 end\n"
    "end\n"
    "for k = 2, #ARGV, 2 do\n"
    "  local op, tag = string.byte(ARGV[k], 1, 2)\n"
    "  local v = ARGV[k + 1]\n"
    "  if op == 83 then t[tag] = v\n"
    "  elseif op == 68 then t[tag] = nil\n"
    "  elseif op == 78 then if t[tag] == nil then t[tag] = v end\n"
    "  elseif op == 77 then\n"
    "    if t[tag] == nil or int(v) > int(t[tag]) then t[tag] = v end\n"
    "  elseif op == 73 then\n"
    "    local x = int(t[tag] or '') + tonumber(v)\n"
    "    if x < 0 or x >= 281474976710656 then return -3 end\n"
    "    t[tag] = bytes(x)\n"
    "  end\n"
    "end\n"
    "local tags = {}\n"
    "for tag in pairs(t) do tags[#tags + 1] = tag end\n"
    "if #tags == 0 then\n"
    "  redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "  return 1\n"
    "end\n"
    "table.sort(tags)\n"
    "local out = {string.char(1)}\n"
    "for _, tag in ipairs(tags) do\n"
    "  local v = t[tag]\n"
    "  local l = #v\n"
    "  if l >= 16384 then return -3 end\n"
    "  if l < 128 then out[#out + 1] = string.char(tag, l)\n"
    "  else out[#out + 1] = string.char(tag, 128 + l % 128, math.floor(l / 128)) end\n"
    "  out[#out + 1] = v\n"
    "end\n"
    "local rec = table.concat(out)\n"
    "if #rec > 4096 then return -3 end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], rec)\n"
    "return 1\n",
    ""};

_Static_assert(CRY_MREC_MAX == 4096, "the update script checks 4096");
_Static_assert(CRY_MREC_LISTPACK_VALUE >= CRY_MREC_MAX, "buckets stay listpacks");

/* ======================= names and keys ======================= */

void cry_mrec_key(const char *mid, char out[CRY_MREC_KEY_MAX])
{
    snprintf(out, CRY_MREC_KEY_MAX, "%s%.4s}", CRY_MREC_BUCKET_PREFIX, mid);
}

int cry_mrec_mid_to_bin(const char *mid, unsigned char out[CRY_MREC_MID_BYTES])
{
    size_t bin_len = 0;
    size_t i;

    for (i = 0; i < 2 * CRY_MREC_MID_BYTES; i++) {
        if (!((mid[i] >= '0' && mid[i] <= '9') || (mid[i] >= 'a' && mid[i] <= 'f')))
            return -1;
    }
    if (mid[i] != '\0' ||
        sodium_hex2bin(out, CRY_MREC_MID_BYTES, mid, 2 * CRY_MREC_MID_BYTES, NULL, &bin_len,
                       NULL) != 0 ||
        bin_len != CRY_MREC_MID_BYTES)
        return -1;
    return 0;
}

int cry_mrec_tag(const char *name)
{
    int t;

    for (t = 1; t < CRY_MR_TAGS; t++) {
        if (name != NULL && strcmp(fields[t].name, name) == 0)
            return t;
    }
    return -1;
}

const char *cry_mrec_tag_name(int tag)
{
    return tag > 0 && tag < CRY_MR_TAGS ? fields[tag].name : "?";
}

/* ======================= codec ======================= */

static int64_t int_of(const unsigned char *v, size_t len)
{
    int64_t x = 0;

    while (len > 0)
        x = x * 256 + v[--len];
    return x;
}

/* Little-endian, minimal length (0 -> no bytes). Returns the length. */
static size_t int_bytes(int64_t x, unsigned char out[INT_BYTES])
{
    size_t n = 0;

    while (x > 0 && n < INT_BYTES) {
        out[n++] = (unsigned char)(x & 0xff);
        x >>= 8;
    }
    return n;
}

/* Is a stored value well-formed for its tag? */
static int value_ok(int tag, const unsigned char *v, size_t len)
{
    switch (fields[tag].type) {
    case T_INT:
        return len <= INT_BYTES && (len == 0 || v[len - 1] != 0);
    case T_MID:
        return len == CRY_MREC_MID_BYTES;
    case T_STATE:
        return len == 1 && v[0] < CRY_MREC_N_STATES;
    case T_TEXT:
    case T_RAW:
        return len <= CRY_MREC_VALUE_MAX;
    default:
        return 0;
    }
}

int cry_mrec_decode(const void *raw, size_t len, struct cry_mrec *out, struct core_err *err)
{
    const unsigned char *p = raw;
    size_t i = 1;

    memset(out->v, 0, sizeof out->v);
    memset(out->len, 0, sizeof out->len);
    out->exists = 0;
    out->buf_len = 0;
    if (raw == NULL)
        return 0;
    if (len == 0 || len > CRY_MREC_MAX || p[0] != CRY_MREC_FORMAT)
        goto bad;
    memcpy(out->buf, p, len);
    out->buf_len = len;
    p = out->buf;
    while (i < len) {
        unsigned tag;
        size_t l;

        if (i + 2 > len)
            goto bad;
        tag = p[i];
        l = p[i + 1];
        i += 2;
        if (l >= 128) {
            if (i >= len)
                goto bad;
            l = (l - 128) + (size_t)p[i] * 128;
            i++;
        }
        if (tag == 0 || tag >= CRY_MR_TAGS || out->v[tag] != NULL || l > len - i ||
            !value_ok((int)tag, p + i, l))
            goto bad;
        out->v[tag] = p + i;
        out->len[tag] = l;
        i += l;
    }
    out->exists = 1;
    return 0;
bad:
    memset(out->v, 0, sizeof out->v);
    memset(out->len, 0, sizeof out->len);
    sodium_memzero(out->buf, sizeof out->buf);
    out->buf_len = 0;
    return core_err_set(err, CORE_EX_DATAERR, "member record: malformed");
}

size_t cry_mrec_encode(const struct cry_mrec *m, unsigned char *out, size_t cap)
{
    size_t n = 0;
    int tag;

    if (cap > CRY_MREC_MAX)
        cap = CRY_MREC_MAX;
    if (cap < 1)
        return 0;
    out[n++] = CRY_MREC_FORMAT;
    for (tag = 1; tag < CRY_MR_TAGS; tag++) {
        size_t l = m->len[tag];

        if (m->v[tag] == NULL)
            continue;
        if (l >= 16384 || n + 3 + l > cap)
            return 0;
        out[n++] = (unsigned char)tag;
        if (l < 128) {
            out[n++] = (unsigned char)l;
        } else {
            out[n++] = (unsigned char)(128 + l % 128);
            out[n++] = (unsigned char)(l / 128);
        }
        memcpy(out + n, m->v[tag], l);
        n += l;
    }
    return n;
}

/* ======================= reading fields ======================= */

const unsigned char *cry_mrec_raw(const struct cry_mrec *m, int tag, size_t *len)
{
    if (tag <= 0 || tag >= CRY_MR_TAGS || m->v[tag] == NULL) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = m->len[tag];
    return m->v[tag];
}

int64_t cry_mrec_int(const struct cry_mrec *m, int tag)
{
    size_t len = 0;
    const unsigned char *v = cry_mrec_raw(m, tag, &len);

    if (v == NULL || fields[tag].type != T_INT)
        return 0;
    return int_of(v, len);
}

int cry_mrec_str(const struct cry_mrec *m, int tag, char *out, size_t cap)
{
    size_t len = 0;
    const unsigned char *v = cry_mrec_raw(m, tag, &len);

    if (cap == 0)
        return v != NULL;
    out[0] = '\0';
    if (v == NULL)
        return 0;
    switch (fields[tag].type) {
    case T_INT:
        snprintf(out, cap, "%lld", (long long)int_of(v, len));
        break;
    case T_MID:
        if (cap >= 2 * CRY_MREC_MID_BYTES + 1)
            core_hex(out, v, CRY_MREC_MID_BYTES);
        break;
    case T_STATE:
        snprintf(out, cap, "%s", states[v[0]]);
        break;
    default: {
        size_t n = len < cap - 1 ? len : cap - 1;

        memcpy(out, v, n);
        out[n] = '\0';
        break;
    }
    }
    return 1;
}

/* ======================= building updates ======================= */

void cry_mrec_ops_init(struct cry_mrec_ops *o)
{
    o->n = 0;
    o->bad = 0;
}

/* A new op slot, or NULL (and bad) when full or the tag is unknown. */
static int add(struct cry_mrec_ops *o, char op, int tag)
{
    if (o->n >= CRY_MREC_OPS_MAX || tag <= 0 || tag >= CRY_MR_TAGS) {
        o->bad = 1;
        return -1;
    }
    o->code[o->n][0] = op;
    o->code[o->n][1] = (char)tag;
    o->v[o->n] = NULL;
    o->len[o->n] = 0;
    return o->n++;
}

static void put_int(struct cry_mrec_ops *o, char op, int tag, int64_t v)
{
    int i = add(o, op, tag);

    if (i < 0)
        return;
    if (fields[tag].type != T_INT || v < 0 || v >= CRY_MREC_INT_MAX) {
        o->bad = 1;
        return;
    }
    o->len[i] = int_bytes(v, o->small[i]);
    o->v[i] = o->small[i];
}

int cry_mrec_encode_value(int tag, const char *text, unsigned char *out, size_t cap,
                          size_t *len)
{
    int64_t x;
    size_t n;
    int s;

    *len = 0;
    if (tag <= 0 || tag >= CRY_MR_TAGS || text == NULL)
        return -1;
    switch (fields[tag].type) {
    case T_INT:
        if (core_parse_i64(text, &x) != 0 || x < 0 || x >= CRY_MREC_INT_MAX || cap < INT_BYTES)
            return -1;
        *len = int_bytes(x, out);
        return 0;
    case T_MID:
        if (cap < CRY_MREC_MID_BYTES || cry_mrec_mid_to_bin(text, out) != 0)
            return -1;
        *len = CRY_MREC_MID_BYTES;
        return 0;
    case T_STATE:
        for (s = 0; s < CRY_MREC_N_STATES && strcmp(states[s], text) != 0; s++)
            ;
        if (s == CRY_MREC_N_STATES || cap < 1)
            return -1;
        out[0] = (unsigned char)s;
        *len = 1;
        return 0;
    default:
        n = strlen(text);
        if (n > CRY_MREC_VALUE_MAX || n > cap)
            return -1;
        memcpy(out, text, n);
        *len = n;
        return 0;
    }
}

void cry_mrec_op_set(struct cry_mrec_ops *o, int tag, const char *text)
{
    int i = add(o, 'S', tag);

    if (i < 0)
        return;
    if (text == NULL) {
        o->bad = 1;
        return;
    }
    if (fields[tag].type == T_TEXT || fields[tag].type == T_RAW) {
        /* borrowed: no copy of up to CRY_MREC_VALUE_MAX bytes */
        o->v[i] = (const unsigned char *)text;
        o->len[i] = strlen(text);
        if (o->len[i] > CRY_MREC_VALUE_MAX)
            o->bad = 1;
        return;
    }
    o->v[i] = o->small[i];
    if (cry_mrec_encode_value(tag, text, o->small[i], sizeof o->small[i], &o->len[i]) != 0)
        o->bad = 1;
}

void cry_mrec_op_set_raw(struct cry_mrec_ops *o, int tag, const void *v, size_t len)
{
    int i = add(o, 'S', tag);

    if (i < 0)
        return;
    if (len > CRY_MREC_VALUE_MAX || !value_ok(tag, v, len))
        o->bad = 1;
    o->v[i] = v;
    o->len[i] = len;
}

void cry_mrec_op_set_int(struct cry_mrec_ops *o, int tag, int64_t v)
{
    put_int(o, 'S', tag, v);
}

void cry_mrec_op_setnx_int(struct cry_mrec_ops *o, int tag, int64_t v)
{
    put_int(o, 'N', tag, v);
}

void cry_mrec_op_max(struct cry_mrec_ops *o, int tag, int64_t v)
{
    put_int(o, 'M', tag, v);
}

void cry_mrec_op_incr(struct cry_mrec_ops *o, int tag, int64_t by)
{
    int i = add(o, 'I', tag);

    if (i < 0)
        return;
    if (fields[tag].type != T_INT || by <= -CRY_MREC_INT_MAX || by >= CRY_MREC_INT_MAX) {
        o->bad = 1;
        return;
    }
    snprintf((char *)o->small[i], sizeof o->small[i], "%lld", (long long)by);
    o->v[i] = o->small[i];
    o->len[i] = strlen((const char *)o->small[i]);
}

void cry_mrec_op_del(struct cry_mrec_ops *o, int tag)
{
    add(o, 'D', tag);
}

void cry_mrec_op_expect_raw(struct cry_mrec_ops *o, int tag, const void *v, size_t len)
{
    int i = add(o, v != NULL ? 'E' : 'A', tag);

    if (i < 0)
        return;
    o->v[i] = v;
    o->len[i] = v != NULL ? len : 0;
}

/* ======================= Redis ======================= */

int cry_mrec_append_load(struct core_redis *r, const char *mid, struct core_err *err)
{
    char key[CRY_MREC_KEY_MAX];
    unsigned char bin[CRY_MREC_MID_BYTES];

    if (cry_mrec_mid_to_bin(mid, bin) != 0) {
        /* not a mid: no such member; a read that answers nil keeps the
         * caller's pipeline in step */
        return core_redis_appendf(r, err, "HGET %s -", CRY_MREC_BUCKET_PREFIX "}");
    }
    cry_mrec_key(mid, key);
    return core_redis_appendf(r, err, "HGET %s %b", key, (const char *)bin, sizeof bin);
}

int cry_mrec_from_reply(const redisReply *rep, struct cry_mrec *out, struct core_err *err)
{
    if (rep == NULL || rep->type == REDIS_REPLY_NIL)
        return cry_mrec_decode(NULL, 0, out, err);
    if (rep->type != REDIS_REPLY_STRING) {
        cry_mrec_decode(NULL, 0, out, err);
        return core_err_set(err, CORE_EX_SOFTWARE, "member record: unexpected reply");
    }
    return cry_mrec_decode(rep->str, rep->len, out, err);
}

int cry_mrec_load(struct core_redis *r, const char *mid, struct cry_mrec *out,
                  struct core_err *err)
{
    char key[CRY_MREC_KEY_MAX];
    unsigned char bin[CRY_MREC_MID_BYTES];
    redisReply *rep = NULL;
    int rc;

    cry_mrec_decode(NULL, 0, out, err);
    if (cry_mrec_mid_to_bin(mid, bin) != 0)
        return 0; /* not a mid: no such member */
    cry_mrec_key(mid, key);
    if (core_redis_cmdf(r, &rep, err, "HGET %s %b", key, (const char *)bin, sizeof bin) != 0)
        return -1;
    rc = cry_mrec_from_reply(rep, out, err);
    freeReplyObject(rep);
    return rc;
}

int cry_mrec_exists(struct core_redis *r, const char *mid, struct core_err *err)
{
    char key[CRY_MREC_KEY_MAX];
    unsigned char bin[CRY_MREC_MID_BYTES];
    redisReply *rep = NULL;
    int yes;

    if (cry_mrec_mid_to_bin(mid, bin) != 0)
        return 0; /* not a mid: no such member */
    cry_mrec_key(mid, key);
    if (core_redis_cmdf(r, &rep, err, "HEXISTS %s %b", key, (const char *)bin, sizeof bin) != 0)
        return -1;
    yes = core_redis_int(rep) == 1;
    freeReplyObject(rep);
    return yes;
}

/* The EVALSHA arguments of an update (KEYS then ARGV). */
struct args {
    char key[CRY_MREC_KEY_MAX];
    unsigned char bin[CRY_MREC_MID_BYTES];
    const char *argv[2 + 2 * CRY_MREC_OPS_MAX];
    size_t lens[2 + 2 * CRY_MREC_OPS_MAX];
    int n;
};

static int build(struct args *a, const char *mid, const struct cry_mrec_ops *o,
                 struct core_err *err)
{
    int i;

    if (o->bad)
        return core_err_set(err, CORE_EX_DATAERR, "member record: a value does not encode");
    if (cry_mrec_mid_to_bin(mid, a->bin) != 0)
        return core_err_set(err, CORE_EX_USAGE, "member record: not a member id");
    cry_mrec_key(mid, a->key);
    a->n = 0;
    a->argv[a->n] = a->key;
    a->lens[a->n++] = strlen(a->key);
    a->argv[a->n] = (const char *)a->bin;
    a->lens[a->n++] = sizeof a->bin;
    for (i = 0; i < o->n; i++) {
        a->argv[a->n] = o->code[i];
        a->lens[a->n++] = 2;
        a->argv[a->n] = o->v[i] != NULL ? (const char *)o->v[i] : "";
        a->lens[a->n++] = o->v[i] != NULL ? o->len[i] : 0;
    }
    return 0;
}

int cry_mrec_update_reply(const redisReply *rep, int *applied, struct core_err *err)
{
    long long v = rep != NULL && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -9;

    if (applied != NULL)
        *applied = v == 1;
    if (v == 1 || v == 0)
        return 0;
    if (v == -2)
        return core_err_set(err, CORE_EX_DATAERR, "member record: malformed");
    if (v == -3)
        return core_err_set(err, CORE_EX_DATAERR, "member record: value out of bounds");
    return core_err_set(err, CORE_EX_SOFTWARE, "member record: unexpected update reply");
}

int cry_mrec_update(struct core_redis *r, const char *mid, const struct cry_mrec_ops *o,
                    int *applied, struct core_err *err)
{
    struct args a;
    redisReply *rep = NULL;
    int rc;

    if (applied != NULL)
        *applied = 0;
    if (build(&a, mid, o, err) != 0)
        return -1;
    if (core_redis_eval(r, &update_script, 1, a.n, a.argv, a.lens, &rep, err) != 0)
        return -1;
    rc = cry_mrec_update_reply(rep, applied, err);
    freeReplyObject(rep);
    return rc;
}

int cry_mrec_append_update(struct core_redis *r, const char *mid, const struct cry_mrec_ops *o,
                           struct core_err *err)
{
    struct args a;

    if (build(&a, mid, o, err) != 0)
        return -1;
    return core_redis_eval_append(r, &update_script, 1, a.n, a.argv, a.lens, err);
}

void cry_mrec_script_forget(void)
{
    core_redis_script_forget(&update_script);
}

int cry_mrec_prepare(struct core_redis *r, struct core_err *err)
{
    return core_redis_script_load(r, &update_script, err);
}
