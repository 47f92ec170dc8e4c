/*
 * topk.c — classification scores: a numerically stable softmax and the k
 * best entries of a score vector (best first, ties to the lower index, NaN
 * below every number so the order is total). Entry points: kw_softmax,
 * kw_scores_to_probs, kw_topk.
 */
#include <math.h>

#include "core/internal.h"
#include "kaiwu/vision.h"

void kw_softmax(float *x, int n) {
    if (!x || n <= 0)
        return;
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    if (isinf(mx) && mx > 0) {
        /* exp(inf - inf) is NaN: share the mass among the infinite ones */
        int k = 0;
        for (int i = 0; i < n; i++)
            k += isinf(x[i]) && x[i] > 0;
        for (int i = 0; i < n; i++)
            x[i] = isinf(x[i]) && x[i] > 0 ? 1.0f / (float)k : 0.0f;
        return;
    }
    if (isinf(mx)) { /* all -inf (or NaN): no information, uniform */
        for (int i = 0; i < n; i++)
            x[i] = isnan(x[i]) ? x[i] : 1.0f / (float)n;
        return;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum); /* sum >= 1: the max contributes 1 */
    for (int i = 0; i < n; i++)
        x[i] *= inv;
}

void kw_scores_to_probs(float *x, int n) {
    if (!x || n <= 0)
        return;
    double sum = 0;
    int probs = 1;
    for (int i = 0; i < n; i++) {
        if (!(x[i] >= 0.0f && x[i] <= 1.0f))
            probs = 0;
        sum += x[i];
    }
    if (!probs || fabs(sum - 1.0) > 1e-3)
        kw_softmax(x, n);
}

/* a ranks before b: larger value, or equal value and lower index. */
static int before(float va, int ia, float vb, int ib) {
    if (isnan(va) || isnan(vb)) {
        if (isnan(va) && isnan(vb))
            return ia < ib;
        return isnan(vb);
    }
    return va > vb || (va == vb && ia < ib);
}

/* Stable merge sort of the indices a[0..n) by rank, using scratch t. */
static void rank_sort(int *a, int *t, int n, const float *x) {
    for (int w = 1; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = KW_MIN(lo + w, n), hi = KW_MIN(lo + 2 * w, n);
            int i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                t[o++] = before(x[a[j]], a[j], x[a[i]], a[i]) ? a[j++] : a[i++];
            while (i < mid)
                t[o++] = a[i++];
            while (j < hi)
                t[o++] = a[j++];
        }
        memcpy(a, t, (size_t)n * sizeof *a);
    }
}

int kw_topk(const float *x, int n, int k, int *idx, float *val) {
    if (!x || n <= 0 || k <= 0 || (!idx && !val))
        return 0;
    if (k > n)
        k = n;
    /* Small k (the usual top-5): insertion into the sorted head, O(n k). */
    int *tmp = idx ? idx : malloc((size_t)k * sizeof *tmp);
    if (!tmp)
        return 0;
    if (k <= 64) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (m == k && !before(x[i], i, x[tmp[m - 1]], tmp[m - 1]))
                continue;
            int j = m < k ? m++ : m - 1;
            while (j > 0 && before(x[i], i, x[tmp[j - 1]], tmp[j - 1])) {
                tmp[j] = tmp[j - 1];
                j--;
            }
            tmp[j] = i;
        }
    } else {
        /* Large k: sort every index once, O(n log n). */
        int *all = malloc(2 * (size_t)n * sizeof *all);
        if (!all) {
            if (tmp != idx)
                free(tmp);
            return 0;
        }
        for (int i = 0; i < n; i++)
            all[i] = i;
        rank_sort(all, all + n, n, x);
        memcpy(tmp, all, (size_t)k * sizeof *tmp);
        free(all);
    }
    if (val)
        for (int i = 0; i < k; i++)
            val[i] = x[tmp[i]];
    if (tmp != idx)
        free(tmp);
    return k;
}
