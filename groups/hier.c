/*
 * groups/hier.c - hierarchy records in Redis (see hier.h).
 */
#include "groups/hier.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[GRP_KIND_COUNT] = {"state", "district", "thana", "beat",
                                                       "locality"};

const char *grp_kind_name(enum grp_kind kind)
{
    return (unsigned)kind < GRP_KIND_COUNT ? kind_names[kind] : "unknown";
}

int grp_kind_parse(const char *s, enum grp_kind *out)
{
    int i;

    for (i = 0; i < GRP_KIND_COUNT; i++) {
        if (s != NULL && strcmp(s, kind_names[i]) == 0) {
            *out = (enum grp_kind)i;
            return 0;
        }
    }
    return -1;
}

bool grp_code_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > GRP_CODE_MAX)
        return false;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

bool grp_pincode_ok(const char *s, size_t len)
{
    size_t i;

    if (len != 6 || s[0] < '1' || s[0] > '9')
        return false;
    for (i = 1; i < 6; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

void grp_unit_cleanup(struct grp_unit *u)
{
    free(u->name_en);
    free(u->name_hi);
    u->name_en = NULL;
    u->name_hi = NULL;
}

static void copy_field(char *dst, size_t cap, const redisReply *v)
{
    size_t n = v->len < cap - 1 ? v->len : cap - 1;

    memcpy(dst, v->str, n);
    dst[n] = '\0';
}

int grp_unit_get(struct core_redis *r, const char *code, struct grp_unit *out,
                 struct core_err *err)
{
    redisReply *rep;
    size_t i;
    char lat[32] = "", lon[32] = "", pop[32] = "";
    int found = 0;

    memset(out, 0, sizeof *out);
    out->population = -1;
    if (core_redis_cmdf(r, &rep, err, "HGETALL js:u:{%s}", code) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2) {
        found = 1;
        snprintf(out->code, sizeof out->code, "%s", code);
        for (i = 0; i + 1 < rep->elements; i += 2) {
            const char *k = rep->element[i]->str;
            const redisReply *v = rep->element[i + 1];

            if (strcmp(k, "k") == 0)
                grp_kind_parse(v->str, &out->kind);
            else if (strcmp(k, "p") == 0)
                copy_field(out->parent, sizeof out->parent, v);
            else if (strcmp(k, "en") == 0)
                out->name_en = core_memdup(v->str, v->len);
            else if (strcmp(k, "hi") == 0)
                out->name_hi = core_memdup(v->str, v->len);
            else if (strcmp(k, "lat") == 0)
                copy_field(lat, sizeof lat, v);
            else if (strcmp(k, "lon") == 0)
                copy_field(lon, sizeof lon, v);
            else if (strcmp(k, "t") == 0)
                copy_field(out->type, sizeof out->type, v);
            else if (strcmp(k, "pin") == 0)
                copy_field(out->pincode, sizeof out->pincode, v);
            else if (strcmp(k, "pop") == 0)
                copy_field(pop, sizeof pop, v);
        }
        if (lat[0] != '\0' && lon[0] != '\0') {
            out->has_coords = true;
            out->lat = strtod(lat, NULL);
            out->lon = strtod(lon, NULL);
        }
        if (pop[0] != '\0')
            out->population = strtol(pop, NULL, 10);
        if (out->name_en == NULL)
            out->name_en = core_strdup("");
        if (out->name_hi == NULL)
            out->name_hi = core_strdup("");
    }
    freeReplyObject(rep);
    return found;
}

long long grp_count(struct core_redis *r, enum grp_kind kind, struct core_err *err)
{
    redisReply *rep;
    long long n;

    if (core_redis_cmdf(r, &rep, err, "SCARD js:kind:%s", grp_kind_name(kind)) != 0)
        return -1;
    n = core_redis_int(rep);
    freeReplyObject(rep);
    return n;
}

int grp_nearest(struct core_redis *r, double lat, double lon, double radius_km, size_t max,
                struct grp_near *out, size_t *n, struct core_err *err)
{
    redisReply *rep;
    char slon[32], slat[32], srad[32], scount[32];
    size_t i;

    *n = 0;
    snprintf(slon, sizeof slon, "%.6f", lon);
    snprintf(slat, sizeof slat, "%.6f", lat);
    snprintf(srad, sizeof srad, "%.3f", radius_km);
    snprintf(scount, sizeof scount, "%zu", max);
    if (core_redis_cmdf(r, &rep, err,
                        "GEOSEARCH js:geo:loc FROMLONLAT %s %s BYRADIUS %s km ASC COUNT %s "
                        "WITHDIST",
                        slon, slat, srad, scount) != 0)
        return -1;
    for (i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements && *n < max; i++) {
        const redisReply *e = rep->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
            continue;
        copy_field(out[*n].code, sizeof out[*n].code, e->element[0]);
        out[*n].km = strtod(e->element[1]->str, NULL);
        (*n)++;
    }
    freeReplyObject(rep);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int members(struct core_redis *r, const char *key, char ***codes, size_t *n,
                   struct core_err *err)
{
    redisReply *rep;
    size_t i;

    *codes = NULL;
    *n = 0;
    if (core_redis_cmdf(r, &rep, err, "SMEMBERS %s", key) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
        *codes = core_calloc(rep->elements, sizeof **codes);
        for (i = 0; i < rep->elements; i++)
            (*codes)[(*n)++] = core_memdup(rep->element[i]->str, rep->element[i]->len);
        qsort(*codes, *n, sizeof **codes, cmp_str);
    }
    freeReplyObject(rep);
    return 0;
}

int grp_children(struct core_redis *r, const char *code, char ***codes, size_t *n,
                 struct core_err *err)
{
    char key[GRP_CODE_MAX + 16];

    snprintf(key, sizeof key, "js:u:{%s}:c", code);
    return members(r, key, codes, n, err);
}

int grp_by_pincode(struct core_redis *r, const char *pin, char ***codes, size_t *n,
                   struct core_err *err)
{
    char key[32];

    snprintf(key, sizeof key, "js:pin:{%s}", pin);
    return members(r, key, codes, n, err);
}

void grp_codes_free(char **codes, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(codes[i]);
    free(codes);
}
