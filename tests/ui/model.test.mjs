// tests/ui/model.test.mjs — ui/js/model.js without a browser (node --test):
// tree order, depth, self time and the critical path on small shapes whose
// answers are worked out by hand, and the malformed cases (missing parent,
// reference cycle, child outliving its parent, several roots).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {buildModel, visibleRows} from '../../ui/js/model.js';

// spans: [id, parent, start, end, error?] with times in µs
function trace(spans) {
  return {traceID: 't', processes: {p1: {serviceName: 'a'}}, spans: spans.map(([id, parent, a, b, err]) => ({
    traceID: 't', spanID: id, operationName: 'op' + id, processID: 'p1', startTime: 1e6 + a, duration: b - a,
    references: parent ? [{refType: 'CHILD_OF', traceID: 't', spanID: parent}] : [],
    tags: err ? [{key: 'error', type: 'bool', value: true}] : []}))};
}
const ids = (m, list) => Array.from(list, (i) => m.spanID[i]);
const onPath = (m) => m.spanID.filter((_, i) => m.onCP[i]).sort();
const segs = (m, id) => {
  const i = m.byId.get(id), out = [];
  for (let k = m.cpAt[i] + m.cpN[i] - 1; k >= m.cpAt[i]; k--) out.push([m.cpSeg[2 * k], m.cpSeg[2 * k + 1]]);
  return out;
};

test('model_seed_trace', () => {
  const m = buildModel(trace([['1', '', 0, 50], ['2', '1', 10, 40], ['3', '2', 15, 40, 1], ['4', '3', 20, 35],
    ['5', '4', 30, 35], ['6', '1', 12, 30]]));
  assert.deepEqual(ids(m, m.order), ['1', '2', '3', '4', '5', '6']);
  assert.deepEqual(Array.from(m.depth), [0, 1, 2, 3, 4, 1]);
  assert.equal(m.maxDepth, 4);
  assert.equal(m.errors, 1);
  assert.deepEqual(Array.from(m.self), [20, 5, 10, 10, 5, 18]);
  assert.deepEqual(onPath(m), ['1', '2', '3', '4', '5']);
  assert.deepEqual(segs(m, '1'), [[0, 10], [40, 50]]);
  assert.deepEqual(segs(m, '3'), [[15, 20], [35, 40]]);
  assert.deepEqual(ids(m, visibleRows(m, Uint8Array.from([0, 1, 0, 0, 0, 0]))), ['1', '2', '6']);
});

test('model_sequential_children_all_on_path', () => {
  const m = buildModel(trace([['r', '', 0, 100], ['a', 'r', 0, 30], ['b', 'r', 30, 60], ['c', 'r', 60, 90]]));
  assert.deepEqual(onPath(m), ['a', 'b', 'c', 'r']);
  assert.deepEqual(segs(m, 'r'), [[90, 100]]);
  assert.equal(m.self[m.byId.get('r')], 10);
});

test('model_parallel_earlier_child_off_path', () => {
  const m = buildModel(trace([['r', '', 0, 100], ['fast', 'r', 10, 40], ['slow', 'r', 10, 90]]));
  assert.deepEqual(onPath(m), ['r', 'slow']);
  assert.equal(m.self[m.byId.get('r')], 20); // 0-10 and 90-100; parallel children count once
});

test('model_child_outliving_parent_is_cut', () => {
  const m = buildModel(trace([['r', '', 0, 50], ['c', 'r', 20, 80]]));
  assert.deepEqual(segs(m, 'c'), [[20, 50]]);
  assert.equal(m.self[m.byId.get('r')], 20);
  assert.equal(m.total, 80);
});

test('model_missing_parent_and_cycle_become_roots', () => {
  const m = buildModel(trace([['r', '', 0, 10], ['orphan', 'gone', 5, 8], ['x', 'y', 20, 30], ['y', 'x', 21, 29]]));
  assert.equal(m.order.length, 4);
  assert.deepEqual(new Set(ids(m, m.order)), new Set(['r', 'orphan', 'x', 'y']));
  assert.ok(m.roots.length >= 3);
  assert.deepEqual(Array.from(m.size).reduce((a, b) => a + b, 0) >= 4, true);
});

test('model_several_roots_share_one_path', () => {
  const m = buildModel(trace([['a', '', 0, 10], ['b', '', 5, 30]]));
  assert.deepEqual(onPath(m), ['a', 'b']);
  assert.deepEqual(segs(m, 'b'), [[5, 30]]);
  assert.deepEqual(segs(m, 'a'), [[0, 5]]);
});
