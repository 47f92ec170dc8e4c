/*
 * onnx_cli.h — pieces shared by the `kaiwu onnx` subcommands (cmd_onnx.c:
 * dispatch, info, run, bench; onnx_test.c: the backend-test runner;
 * onnx_io.c: files, repeated options, value printing and random inputs).
 * Everything here uses only the public API in include/kaiwu/onnx.h.
 */
#ifndef KW_CLI_ONNX_CLI_H
#define KW_CLI_ONNX_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "args.h"
#include "kaiwu/onnx.h"

int cmd_onnx_test(int argc, char **argv);

/* Whole file into a malloc'd buffer (*n bytes). Returns 0, or -1 after
 * writing the reason to err. */
int oc_read_file(const char *path, void **buf, size_t *n, char *err,
                 size_t err_size);

/* Reads a TensorProto/SequenceProto/OptionalProto file as a value of the
 * given kind (enum kw_onnx_kind; anything else reads a tensor). Returns a
 * kw_status; err names the file. */
enum kw_status oc_read_value(const char *path, int kind,
                             struct kw_onnx_value **out, char *err,
                             size_t err_size);

/* Writes v as DIR/output_K.pb-style protobuf file at path. */
enum kw_status oc_write_value(const char *path,
                              const struct kw_onnx_value *v, const char *name,
                              char *err, size_t err_size);

/* Removes every "--NAME VALUE" / "--NAME=VALUE" from argv (before a "--")
 * and stores the values in vals[0..*n) (at most max). Returns 0, or 2
 * after a usage error (missing value, too many). argv is compacted in
 * place; *argc is updated. */
int oc_take_multi(const struct cli_cmd *cmd, int *argc, char **argv,
                  const char *name, const char **vals, size_t *n,
                  size_t max);

/* "float[N,3,224,224]", "sequence<float>", "optional<...>" for an io
 * info, into buf. */
const char *oc_io_type_str(const struct kw_onnx_io_info *io, char *buf,
                           size_t size);

/* Scalars in a tensor's data: its element count, twice that for the
 * complex types (real and imaginary parts). */
int64_t oc_n_scalars(const struct kw_onnx_value *t);
/* Scalar i of a tensor (see oc_n_scalars) as a double: floats, ints, bool;
 * float16 and bfloat16 converted. 0 for strings and unknown types. */
double oc_elem_f64(const struct kw_onnx_value *t, int64_t i);
/* 1 for float, double, float16, bfloat16, complex (compared with the
 * float tolerance). */
int oc_dtype_is_float(int dtype);

/* A tensor of the given shape filled with fixed-seed pseudo-random values:
 * floats uniform in [-1, 1), integers in [0, 2), bools, strings "a".
 * NULL when out of memory or invalid. */
struct kw_onnx_value *oc_random_tensor(int dtype, int rank,
                                       const int64_t *dims, uint64_t *seed);

#endif /* KW_CLI_ONNX_CLI_H */
