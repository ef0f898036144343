/* The backward engine's node loop in C: ``gpugrad._engine._run_nodes`` (read that first;
 * this file does exactly what it does, in the same order, so both give the same values).
 *
 * The Python engine spends most of a small step's backward in its own bookkeeping: the
 * loop, the heap, the dictionary of waiting gradients, and ``Node.apply`` building each
 * formula's arguments. Here those run in C; the formulas themselves (Python functions on
 * NumPy/CuPy arrays) are called as they are, and every rare case (hooks, slices, nodes
 * with several outputs, custom ``Function`` nodes, a saved value changed in place,
 * anomaly mode) is handed to the same Python code the Python loop calls.
 *
 * Built on first use by ``gpugrad._engine_native`` (see there); the Python loop runs
 * where no compiler is found and with ``gg.set_cpu_kernels("numpy")``.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* --- what ``configure`` hands over -------------------------------------------------- */
static PyTypeObject *Node_type, *FirstArgument_type, *SecondArgument_type, *Slice_type;
static PyTypeObject *Accumulate_type, *Op_type, *Tensor_type;
static PyObject *FREED, *clock_obj, *anomaly_obj, *node_apply;
static PyObject *helpers; /* the module whose functions handle the rare cases */
static Py_ssize_t off_op, off_edges, off_saved, off_out, off_attrs, off_backend, off_shapes,
    off_casts, off_pre_hooks, off_epoch, off_seq;
static Py_ssize_t off_op_grads, off_op_save_output, off_op_splits, off_data, off_clock,
    off_anomaly;
static PyObject *s_hooked, *s_capture_non_leaf, *s_add_slice_into, *s_deliver, *s_note_repeats, *s_check_outputs;
static PyObject *s_apply, *s_apply_multi, *s_n_outputs, *s_seq, *s_edges, *s_pre_hooks,
    *s_backend, *s_shape, *s_sum_to, *s_astype;
static int configured = 0;

#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

static int member_offset(PyTypeObject *type, const char *name, Py_ssize_t *offset) {
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    if (descr == NULL) return -1;
    if (Py_TYPE(descr) != &PyMemberDescr_Type) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", type->tp_name, name);
        Py_DECREF(descr);
        return -1;
    }
    PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
    *offset = member->offset;
    Py_DECREF(descr);
    return 0;
}

static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *types, *objects, *module;
    if (!PyArg_ParseTuple(args, "O!O!O", &PyTuple_Type, &types, &PyTuple_Type, &objects,
                          &module))
        return NULL;
    PyTypeObject **type_slots[] = {&Node_type,       &FirstArgument_type, &SecondArgument_type,
                                   &Slice_type,      &Accumulate_type,    &Op_type,
                                   &Tensor_type};
    PyObject **object_slots[] = {&FREED, &clock_obj, &anomaly_obj, &node_apply};
    if (PyTuple_GET_SIZE(types) != 7 || PyTuple_GET_SIZE(objects) != 4) {
        PyErr_SetString(PyExc_TypeError, "configure: 7 types, 4 objects, a module");
        return NULL;
    }
    for (int i = 0; i < 7; i++) {
        PyObject *t = PyTuple_GET_ITEM(types, i);
        if (!PyType_Check(t)) {
            PyErr_SetString(PyExc_TypeError, "configure: not a type");
            return NULL;
        }
        Py_INCREF(t);
        Py_XSETREF(*type_slots[i], (PyTypeObject *)t);
    }
    for (int i = 0; i < 4; i++) {
        Py_INCREF(PyTuple_GET_ITEM(objects, i));
        Py_XSETREF(*object_slots[i], PyTuple_GET_ITEM(objects, i));
    }
    Py_INCREF(module);
    Py_XSETREF(helpers, module);
    struct {
        PyTypeObject *type;
        const char *name;
        Py_ssize_t *offset;
    } members[] = {
        {Node_type, "op", &off_op},
        {Node_type, "edges", &off_edges},
        {Node_type, "saved", &off_saved},
        {Node_type, "out", &off_out},
        {Node_type, "attrs", &off_attrs},
        {Node_type, "backend", &off_backend},
        {Node_type, "shapes", &off_shapes},
        {Node_type, "casts", &off_casts},
        {Node_type, "pre_hooks", &off_pre_hooks},
        {Node_type, "epoch", &off_epoch},
        {Node_type, "seq", &off_seq},
        {Op_type, "grads", &off_op_grads},
        {Op_type, "save_output", &off_op_save_output},
        {Op_type, "splits", &off_op_splits},
        {Tensor_type, "_data", &off_data},
        {Py_TYPE(clock_obj), "epoch", &off_clock},
        {Py_TYPE(anomaly_obj), "enabled", &off_anomaly},
    };
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
        if (member_offset(members[i].type, members[i].name, members[i].offset) < 0) return NULL;
    configured = 1;
    Py_RETURN_NONE;
}

/* --- nodes ---------------------------------------------------------------------------- */
/* ``Node`` and its subclasses that keep ``Node.apply`` and one output. */
static inline int is_plain(PyObject *o) {
    PyTypeObject *t = Py_TYPE(o);
    return t == Node_type || t == FirstArgument_type || t == SecondArgument_type ||
           t == Slice_type;
}

/* A plain node whose ``apply`` is still gpugrad's (not wrapped, by a test or a profiler):
 * the one that ``apply`` below may stand in for. */
static inline int runs_node_apply(PyObject *o) {
    return is_plain(o) && _PyType_Lookup(Py_TYPE(o), s_apply) == node_apply;
}

/* A slot of a ``Node`` (new reference), or the attribute of any other node. */
static PyObject *node_get(PyObject *node, Py_ssize_t offset, PyObject *name) {
    if (PyObject_TypeCheck(node, Node_type)) {
        PyObject *value = SLOT(node, offset);
        if (value != NULL) {
            Py_INCREF(value);
            return value;
        }
    }
    return PyObject_GetAttr(node, name);
}

/* ``node.n_outputs``; -1 with an exception set on failure. */
static Py_ssize_t n_outputs(PyObject *node) {
    if (is_plain(node) || Py_TYPE(node) == Accumulate_type) return 1;
    PyObject *n = PyObject_GetAttr(node, s_n_outputs);
    if (n == NULL) return -1;
    Py_ssize_t value = PyLong_AsSsize_t(n);
    Py_DECREF(n);
    return value;
}

/* ``node.seq``; -1 with an exception set on failure (sequence numbers are >= 0). */
static long long sequence(PyObject *node) {
    PyObject *seq = node_get(node, off_seq, s_seq);
    if (seq == NULL) return -1;
    long long value = PyLong_AsLongLong(seq);
    Py_DECREF(seq);
    return value;
}

/* --- the heap of nodes waiting to run: newest (highest sequence number) first ---------- */
typedef struct {
    long long seq;
    PyObject *node; /* a reference the heap owns */
} Entry;

typedef struct {
    Entry *items;
    Py_ssize_t size, capacity;
} Heap;

static int heap_push(Heap *heap, long long seq, PyObject *node) {
    if (heap->size == heap->capacity) {
        Py_ssize_t capacity = heap->capacity ? 2 * heap->capacity : 16;
        Entry *items = PyMem_Realloc(heap->items, capacity * sizeof(Entry));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        heap->items = items;
        heap->capacity = capacity;
    }
    Py_ssize_t i = heap->size++;
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (heap->items[parent].seq >= seq) break;
        heap->items[i] = heap->items[parent];
        i = parent;
    }
    Py_INCREF(node);
    heap->items[i].seq = seq;
    heap->items[i].node = node;
    return 0;
}

static PyObject *heap_pop(Heap *heap) { /* the caller owns the returned reference */
    PyObject *top = heap->items[0].node;
    Entry last = heap->items[--heap->size];
    Py_ssize_t i = 0, n = heap->size;
    for (;;) {
        Py_ssize_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && heap->items[child + 1].seq > heap->items[child].seq) child++;
        if (heap->items[child].seq <= last.seq) break;
        heap->items[i] = heap->items[child];
        i = child;
    }
    if (n > 0) heap->items[i] = last;
    return top;
}

static void heap_clear(Heap *heap) {
    for (Py_ssize_t i = 0; i < heap->size; i++) Py_DECREF(heap->items[i].node);
    PyMem_Free(heap->items);
}

/* Whether ``node`` would run next if handed on directly: nothing waiting is newer. */
static inline int runs_next(Heap *heap, long long seq) {
    return heap->size == 0 || heap->items[0].seq < seq;
}

/* --- ``Node.apply`` on arrays --------------------------------------------------------- */
static PyObject *apply_in_python(PyObject *node, PyObject *grad, PyObject *retain) {
    PyObject *backend = node_get(node, off_backend, s_backend);
    if (backend == NULL) return NULL;
    PyObject *result =
        PyObject_CallMethodObjArgs(node, s_apply, grad, backend, Py_False, retain, NULL);
    Py_DECREF(backend);
    return result;
}

/* ``g.shape != shape`` ends in ``ns.method(g, argument)`` (``sum_to``/``astype``). */
static int adjust(PyObject *grads, PyObject *per_input, PyObject *ns, PyObject *method,
                  int check_shape) {
    Py_ssize_t n = PyTuple_GET_SIZE(per_input);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *want = PyTuple_GET_ITEM(per_input, i);
        PyObject *g = PyList_GET_ITEM(grads, i);
        if (want == Py_None || g == Py_None) continue;
        if (check_shape) {
            PyObject *shape = PyObject_GetAttr(g, s_shape);
            if (shape == NULL) return -1;
            int differs = PyObject_RichCompareBool(shape, want, Py_NE);
            Py_DECREF(shape);
            if (differs < 0) return -1;
            if (!differs) continue;
        }
        PyObject *fixed = PyObject_CallMethodObjArgs(ns, method, g, want, NULL);
        if (fixed == NULL) return -1;
        PyList_SetItem(grads, i, fixed); /* steals ``fixed``, drops the old gradient */
    }
    return 0;
}

#define MAX_ARGS 16

/* ``node.apply(grad, node.backend, False, retain_graph)``: a new list. */
static PyObject *apply(PyObject *node, PyObject *grad, int retain, PyObject *retain_obj) {
    if (!runs_node_apply(node)) return apply_in_python(node, grad, retain_obj);
    PyObject *op = SLOT(node, off_op), *saved = SLOT(node, off_saved);
    PyObject *edges = SLOT(node, off_edges), *attrs = SLOT(node, off_attrs);
    PyObject *ns = SLOT(node, off_backend), *epoch = SLOT(node, off_epoch);
    if (op == NULL || saved == NULL || edges == NULL || attrs == NULL || ns == NULL ||
        epoch == NULL || Py_TYPE(op) != Op_type || !PyTuple_CheckExact(saved) ||
        !PyTuple_CheckExact(edges) || !PyTuple_CheckExact(attrs))
        return apply_in_python(node, grad, retain_obj); /* freed, or unusual: Python says */
    PyObject *now = SLOT(clock_obj, off_clock);
    if (now != epoch) { /* an in-place write since: Python checks the saved versions */
        int same = now == NULL ? 0 : PyObject_RichCompareBool(now, epoch, Py_EQ);
        if (same < 0) return NULL;
        if (!same) return apply_in_python(node, grad, retain_obj);
    }
    PyObject *formulas = SLOT(op, off_op_grads);
    PyObject *save_output = SLOT(op, off_op_save_output), *splits = SLOT(op, off_op_splits);
    if (formulas == NULL || !PyTuple_CheckExact(formulas)) return apply_in_python(node, grad, retain_obj);
    Py_ssize_t n_formulas = PyTuple_GET_SIZE(formulas);
    Py_ssize_t n_saved = PyTuple_GET_SIZE(saved), n_attrs = PyTuple_GET_SIZE(attrs);
    int with_output = save_output == Py_True;
    Py_ssize_t n_args = 2 + n_saved + with_output + n_attrs;
    if (!((n_formulas == 1 && splits != Py_True) ||
          (n_formulas == 2 && PyTuple_GET_SIZE(edges) == 2)) ||
        n_args > MAX_ARGS)
        return apply_in_python(node, grad, retain_obj);
    /* ``formula(ns, grad, *saved arrays, out?, *attrs)``; borrowed references, held by the
     * node (its tuples, the saved tensors' arrays) for the length of the calls. */
    PyObject *argv[MAX_ARGS];
    Py_ssize_t k = 0;
    argv[k++] = ns;
    argv[k++] = grad;
    for (Py_ssize_t i = 0; i < n_saved; i++) {
        PyObject *s = PyTuple_GET_ITEM(saved, i);
        if (PyObject_TypeCheck(s, Tensor_type)) {
            s = SLOT(s, off_data);
            if (s == NULL) return apply_in_python(node, grad, retain_obj);
        }
        argv[k++] = s;
    }
    PyObject *out = NULL;
    if (with_output) {
        out = SLOT(node, off_out);
        if (out == NULL) return apply_in_python(node, grad, retain_obj);
        Py_INCREF(out); /* the node lets go of it below, perhaps before the call returns */
        argv[k++] = out;
    }
    for (Py_ssize_t i = 0; i < n_attrs; i++) argv[k++] = PyTuple_GET_ITEM(attrs, i);
    Py_INCREF(saved);
    Py_INCREF(attrs);
    PyObject *grads = PyList_New(n_formulas);
    if (grads == NULL) goto fail;
    for (Py_ssize_t i = 0; i < n_formulas; i++) {
        PyObject *g;
        if (n_formulas == 2 && PyTuple_GET_ITEM(edges, i) == Py_None) {
            g = Py_NewRef(Py_None);
        } else {
            g = PyObject_Vectorcall(PyTuple_GET_ITEM(formulas, i), argv, n_args, NULL);
            if (g == NULL) goto fail;
        }
        PyList_SET_ITEM(grads, i, g);
    }
    PyObject *shapes = SLOT(node, off_shapes), *casts = SLOT(node, off_casts);
    if (shapes != NULL && shapes != Py_None &&
        (!PyTuple_CheckExact(shapes) || PyTuple_GET_SIZE(shapes) > n_formulas ||
         adjust(grads, shapes, ns, s_sum_to, 1) < 0))
        goto fail_checked;
    if (casts != NULL && casts != Py_None &&
        (!PyTuple_CheckExact(casts) || PyTuple_GET_SIZE(casts) > n_formulas ||
         adjust(grads, casts, ns, s_astype, 0) < 0))
        goto fail_checked;
    if (!retain && (n_saved > 0 || with_output)) {
        Py_INCREF(FREED);
        Py_XSETREF(SLOT(node, off_saved), FREED);
        Py_INCREF(Py_None);
        Py_XSETREF(SLOT(node, off_out), Py_None);
    }
    Py_XDECREF(out);
    Py_DECREF(saved);
    Py_DECREF(attrs);
    return grads;
fail_checked:
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "a node's shapes or casts do not fit its inputs");
fail:
    Py_XDECREF(grads);
    Py_XDECREF(out);
    Py_DECREF(saved);
    Py_DECREF(attrs);
    return NULL;
}

/* --- the loop ------------------------------------------------------------------------- */
/* ``helpers.<name>(a, b, c, d)``, up to the first NULL argument; looked up at each call
 * (rare cases only), so that a wrapped helper is the one called, as in the Python loop. */
static PyObject *call_helper(PyObject *name, PyObject *a, PyObject *b, PyObject *c,
                             PyObject *d) {
    PyObject *function = PyObject_GetAttr(helpers, name);
    if (function == NULL) return NULL;
    PyObject *argv[4] = {a, b, c, d};
    Py_ssize_t n = c == NULL ? 2 : d == NULL ? 3 : 4;
    PyObject *result = PyObject_Vectorcall(function, argv, n, NULL);
    Py_DECREF(function);
    return result;
}

/* ``dict.pop(key)`` for a key known to be there: a new reference. */
static PyObject *pop_item(PyObject *dict, PyObject *key) {
    PyObject *value = PyDict_GetItemWithError(dict, key);
    if (value == NULL) {
        if (!PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    Py_INCREF(value);
    if (PyDict_DelItem(dict, key) < 0) {
        Py_DECREF(value);
        return NULL;
    }
    return value;
}

static int add_id(PyObject *set, PyObject *value) {
    PyObject *id = PyLong_FromVoidPtr(value);
    if (id == NULL) return -1;
    int result = PySet_Add(set, id);
    Py_DECREF(id);
    return result;
}

/* ``buffers[key] = current + g`` (``g`` when nothing waits); returns the stored value,
 * borrowed. */
static PyObject *store_sum(PyObject *buffers, PyObject *key, PyObject *current, PyObject *g) {
    PyObject *value;
    if (current == NULL) {
        value = Py_NewRef(g);
    } else {
        value = PyNumber_Add(current, g);
        if (value == NULL) return NULL;
    }
    int failed = PyDict_SetItem(buffers, key, value);
    Py_DECREF(value);
    return failed ? NULL : value;
}

#define RUN_NODES_SIGNATURE                                                                 \
    "run_nodes(buffers, owned, ready, leaves, shared, retain_graph, tensor_mode, capture, "  \
    "captured, tensor_namespace)"

static PyObject *run_nodes(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "the native engine loop is not configured");
        return NULL;
    }
    if (nargs != 10 || !PyDict_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) ||
        !PyList_CheckExact(args[2]) || !PyDict_CheckExact(args[3]) ||
        !PySet_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, RUN_NODES_SIGNATURE);
        return NULL;
    }
    PyObject *buffers = args[0], *owned = args[1], *ready = args[2], *leaves = args[3];
    PyObject *shared = args[4], *retain_obj = args[5], *tensor_obj = args[6];
    PyObject *capture = args[7], *captured = args[8], *tensor_ns = args[9];
    int retain = PyObject_IsTrue(retain_obj);
    if (retain < 0) return NULL;
    retain_obj = retain ? Py_True : Py_False;
    int tensor_mode = PyObject_IsTrue(tensor_obj);
    if (tensor_mode < 0) return NULL;
    tensor_obj = tensor_mode ? Py_True : Py_False;

    Heap heap = {NULL, 0, 0};
    PyObject *node = NULL, *grad = NULL, *input_grads = NULL, *edges = NULL;
    PyObject *first = NULL, *first_grad = NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(ready); i++) { /* ``(-seq, node)`` pairs */
        PyObject *entry = PyList_GET_ITEM(ready, i);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2) {
            PyErr_SetString(PyExc_TypeError, "ready: (-seq, node) pairs");
            goto error;
        }
        long long seq = PyLong_AsLongLong(PyTuple_GET_ITEM(entry, 0));
        if (seq == -1 && PyErr_Occurred()) goto error;
        if (heap_push(&heap, -seq, PyTuple_GET_ITEM(entry, 1)) < 0) goto error;
    }
    for (;;) {
        if (node == NULL) {
            if (heap.size == 0) break;
            node = heap_pop(&heap);
            grad = pop_item(buffers, node);
            if (grad == NULL) goto error;
            if (PyDict_GET_SIZE(owned) && PyDict_Contains(owned, node) == 1 &&
                PyDict_DelItem(owned, node) < 0)
                goto error;
        }
        PyObject *hooks = node_get(node, off_pre_hooks, s_pre_hooks);
        if (hooks == NULL) goto error;
        if (hooks != Py_None) {
            Py_DECREF(hooks);
            PyObject *hooked = call_helper(s_hooked, node, grad, shared, tensor_obj);
            if (hooked == NULL) goto error;
            Py_SETREF(grad, hooked);
        } else {
            Py_DECREF(hooks);
        }
        if (capture != Py_None) {
            PyObject *kept = call_helper(s_capture_non_leaf, node, grad, capture, captured);
            if (kept == NULL) goto error;
            Py_DECREF(kept);
        }
        int slicing = 0;
        Py_ssize_t outputs = n_outputs(node);
        if (outputs < 0 && PyErr_Occurred()) goto error;
        if (outputs != 1) {
            input_grads =
                PyObject_CallMethodObjArgs(node, s_apply_multi, grad, tensor_obj, retain_obj, NULL);
        } else if (tensor_mode) {
            input_grads =
                PyObject_CallMethodObjArgs(node, s_apply, grad, tensor_ns, Py_True, retain_obj, NULL);
        } else {
            if (Py_TYPE(node) == Slice_type) {
                PyObject *added =
                    call_helper(s_add_slice_into, node, grad, buffers, owned);
                if (added == NULL) goto error;
                int done = PyObject_IsTrue(added);
                Py_DECREF(added);
                if (done < 0) goto error;
                if (done) {
                    Py_CLEAR(node);
                    Py_CLEAR(grad);
                    continue;
                }
                slicing = 1;
            }
            input_grads = apply(node, grad, retain, retain_obj);
        }
        if (input_grads == NULL) goto error;
        Py_CLEAR(grad);
        if (!PyList_CheckExact(input_grads)) {
            PyObject *listed = PySequence_List(input_grads);
            if (listed == NULL) goto error;
            Py_SETREF(input_grads, listed);
        }
        edges = node_get(node, off_edges, s_edges);
        if (edges == NULL) goto error;
        if (!PyTuple_Check(edges)) {
            PyObject *tupled = PySequence_Tuple(edges);
            if (tupled == NULL) goto error;
            Py_SETREF(edges, tupled);
        }
        if (SLOT(anomaly_obj, off_anomaly) == Py_True) {
            PyObject *checked =
                call_helper(s_check_outputs, node, input_grads, NULL, NULL);
            if (checked == NULL) goto error;
            Py_DECREF(checked);
        }
        Py_CLEAR(node);
        Py_ssize_t n_grads = PyList_GET_SIZE(input_grads), n_edges = PyTuple_GET_SIZE(edges);
        PyObject *edge = NULL, *g = NULL; /* borrowed */
        if (n_grads == 1) {
            if (n_edges < 1) goto index_error;
            edge = PyTuple_GET_ITEM(edges, 0);
            g = PyList_GET_ITEM(input_grads, 0);
        } else if (n_grads == 2) {
            g = PyList_GET_ITEM(input_grads, 0);
            PyObject *g1 = PyList_GET_ITEM(input_grads, 1);
            if (g == Py_None) {
                if (n_edges < 2) goto index_error;
                edge = PyTuple_GET_ITEM(edges, 1);
                g = g1;
            } else if (g1 == Py_None) {
                if (n_edges < 1) goto index_error;
                edge = PyTuple_GET_ITEM(edges, 0);
            } else if (g == g1 && add_id(shared, g) < 0) {
                goto error;
            }
        } else {
            PyObject *noted =
                call_helper(s_note_repeats, input_grads, shared, NULL, NULL);
            if (noted == NULL) goto error;
            Py_DECREF(noted);
        }
        if (edge != NULL && edge != Py_None) { /* one gradient to pass on */
            if (g == Py_None) {
                Py_CLEAR(input_grads);
                Py_CLEAR(edges);
                continue;
            }
            if (!PyTuple_Check(edge) && Py_TYPE(edge) != Accumulate_type) {
                Py_ssize_t edge_outputs = n_outputs(edge);
                if (edge_outputs < 0 && PyErr_Occurred()) goto error;
                int waiting = PyDict_Contains(buffers, edge);
                if (waiting < 0) goto error;
                if (edge_outputs == 1 && !waiting) {
                    long long seq = sequence(edge);
                    if (seq < 0 && PyErr_Occurred()) goto error;
                    if (runs_next(&heap, seq)) {
                        node = Py_NewRef(edge);
                        grad = Py_NewRef(g);
                        Py_CLEAR(input_grads);
                        Py_CLEAR(edges);
                        continue;
                    }
                }
            }
        }
        /* Every input: the first node reached for the first time waits in ``first``. */
        Py_ssize_t n_pairs = n_grads < n_edges ? n_grads : n_edges;
        for (Py_ssize_t i = 0; i < n_pairs; i++) {
            PyObject *e = PyTuple_GET_ITEM(edges, i);
            g = PyList_GET_ITEM(input_grads, i);
            if (e == Py_None || g == Py_None) continue;
            if (first != NULL && e == first) { /* a second edge into it: summed in order */
                PyObject *sum = PyNumber_Add(first_grad, g);
                if (sum == NULL) goto error;
                Py_SETREF(first_grad, sum);
                continue;
            }
            Py_ssize_t nr = 0;
            PyObject *target = e;
            if (PyTuple_Check(e)) {
                if (PyTuple_GET_SIZE(e) != 2) goto index_error;
                target = PyTuple_GET_ITEM(e, 0);
                nr = PyLong_AsSsize_t(PyTuple_GET_ITEM(e, 1));
                if (nr == -1 && PyErr_Occurred()) goto error;
            }
            PyObject *current = PyDict_GetItemWithError(buffers, target); /* borrowed */
            if (current == NULL && PyErr_Occurred()) goto error;
            Py_ssize_t target_outputs = n_outputs(target);
            if (target_outputs < 0 && PyErr_Occurred()) goto error;
            if (current == NULL) {
                if (Py_TYPE(target) == Accumulate_type) {
                    if (PyDict_SetItem(leaves, target, Py_None) < 0) goto error;
                } else if (first == NULL && nr == 0 && target_outputs == 1 && !slicing) {
                    first = Py_NewRef(target);
                    first_grad = Py_NewRef(g);
                    continue;
                } else {
                    long long seq = sequence(target);
                    if (seq < 0 && PyErr_Occurred()) goto error;
                    if (heap_push(&heap, seq, target) < 0) goto error;
                }
            }
            if (target_outputs != 1) {
                PyObject *nr_obj = PyLong_FromSsize_t(nr);
                if (nr_obj == NULL) goto error;
                PyObject *done =
                    call_helper(s_deliver, buffers, target, nr_obj, g);
                Py_DECREF(nr_obj);
                if (done == NULL) goto error;
                Py_DECREF(done);
            } else {
                PyObject *stored = store_sum(buffers, target, current, g);
                if (stored == NULL) goto error;
                if (slicing && PyDict_SetItem(owned, target, stored) < 0) goto error;
            }
        }
        Py_CLEAR(input_grads);
        Py_CLEAR(edges);
        if (first != NULL) {
            long long seq = sequence(first);
            if (seq < 0 && PyErr_Occurred()) goto error;
            if (runs_next(&heap, seq)) {
                node = first;
                grad = first_grad;
            } else {
                if (heap_push(&heap, seq, first) < 0) goto error;
                if (PyDict_SetItem(buffers, first, first_grad) < 0) goto error;
                Py_DECREF(first);
                Py_DECREF(first_grad);
            }
            first = first_grad = NULL;
        }
    }
    heap_clear(&heap);
    Py_RETURN_NONE;
index_error:
    PyErr_SetString(PyExc_IndexError, "a node returned more gradients than it has inputs");
error:
    heap_clear(&heap);
    Py_XDECREF(node);
    Py_XDECREF(grad);
    Py_XDECREF(input_grads);
    Py_XDECREF(edges);
    Py_XDECREF(first);
    Py_XDECREF(first_grad);
    return NULL;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(types, objects, module): the classes, singletons and the helpers' module."},
    {"run_nodes", (PyCFunction)(void (*)(void))run_nodes, METH_FASTCALL,
     RUN_NODES_SIGNATURE ": the node loop."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_gg_engine_loop",
                                    "gpugrad's backward node loop in C.", -1, methods};

PyMODINIT_FUNC PyInit__gg_engine_loop(void) {
    PyObject **names[] = {&s_hooked, &s_capture_non_leaf, &s_add_slice_into, &s_deliver, &s_note_repeats,
                          &s_check_outputs, &s_apply,  &s_apply_multi, &s_n_outputs, &s_seq,    &s_edges,
                          &s_pre_hooks, &s_backend,  &s_shape,     &s_sum_to, &s_astype};
    const char *texts[] = {"_hooked", "_capture_non_leaf", "_add_slice_into", "_deliver", "_note_repeats",
                           "_check_outputs", "apply", "apply_multi", "n_outputs", "seq",    "edges",
                           "pre_hooks", "backend", "shape",     "sum_to", "astype"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        *names[i] = PyUnicode_InternFromString(texts[i]);
        if (*names[i] == NULL) return NULL;
    }
    return PyModule_Create(&module);
}
