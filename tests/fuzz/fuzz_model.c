/*
 * tests/fuzz/fuzz_model.c - libFuzzer driver for the model file loader
 * (moderation/model.c), a parser of outside input. The checksum is skipped
 * (MOD_MODEL_NO_CHECKSUM) so the fuzzer reaches the structure checks. Any
 * byte string must load or fail cleanly with CORE_EX_DATAERR; a model that
 * loads must serialise, load again with its checksum, and classify.
 */
#include "moderation/bayes.h"
#include "moderation/model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct core_err err;
    struct mod_model *m;
    struct mod_model *m2;
    unsigned char *buf;
    size_t len;
    uint32_t feats[3] = {1, 2, 3};
    double logp[MOD_NLABELS];

    core_err_clear(&err);
    m = mod_model_load_mem(data, size, MOD_MODEL_NO_CHECKSUM, &err);
    if (m == NULL) {
        if (err.code != CORE_EX_DATAERR || strchr(err.msg, '\n') != NULL)
            abort();
        return 0;
    }
    mod_model_serialise(m, &buf, &len);
    m2 = mod_model_load_mem(buf, len, 0, &err);
    if (m2 == NULL || m2->nb.used != m->nb.used)
        abort();
    mod_bayes_classify(&m2->nb, feats, 3, logp);
    free(buf);
    mod_model_free(m2);
    mod_model_free(m);
    return 0;
}
