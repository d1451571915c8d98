// Render the templating bench's templates with Handlebars.js and Mockoon's own helpers
// (from @mockoon/commons-server, installed with the CLI in .bench/node). Prints JSON timings,
// or with 'render' as the iteration count, each template's output (for differential tests).
const path = require('path');
const base = process.argv[2];
const req = (m) => require(path.join(base, 'node_modules', m));
const Handlebars = req('handlebars');
const cs = path.join(base, 'node_modules/@mockoon/commons-server/dist/cjs/libs/templating-helpers');
const { FakerWrapper } = require(path.join(cs, 'faker-wrapper'));
const { Helpers } = require(path.join(cs, 'helpers'));
const { DataHelpers } = require(path.join(cs, 'data-helpers'));
const { RequestHelpers } = require(path.join(cs, 'request-helpers'));
const { GlobalHelpers } = require(path.join(cs, 'global-helpers'));
const cases = JSON.parse(process.argv[3]);
const iterations = parseInt(process.argv[4], 10);
const users = JSON.parse(cases.bucket);
const buckets = [{ uuid: 'b', id: 'users', name: 'Users', value: users, parsed: true, validJson: true }];
const request = { query: { type: 'b', n: '3' }, params: { id: '42' }, body: {}, stringBody: '', cookies: {},
  header: () => undefined, get: () => undefined, method: 'GET', hostname: 'localhost', ip: '127.0.0.1', protocol: 'http' };
const helpers = Object.assign({}, FakerWrapper, Helpers, GlobalHelpers({}), DataHelpers(buckets),
  RequestHelpers(request, { port: 3000, endpointPrefix: '' }, ''));
const out = {};
if (process.argv[4] === 'render') {
  // reference outputs for the differential tests
  for (const [name, source] of Object.entries(cases.templates)) {
    try { out[name] = Handlebars.compile(source)({}, { helpers }); } catch (e) { out[name] = { error: String(e.message) }; }
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}
for (const [name, source] of Object.entries(cases.templates)) {
  const template = Handlebars.compile(source);
  template({}, { helpers }); // compile happens on first call
  for (let i = 0; i < iterations / 10; i++) template({}, { helpers }); // warm-up (JIT)
  // best of 5 rounds, as for our engine: the least disturbed run is the code's own cost
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations / 5; i++) template({}, { helpers });
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e3 / (iterations / 5)); // µs per render
  }
  out[name] = best;
}
console.log(JSON.stringify(out));
