// Reads JSON lines {"t": template} on stdin; answers one JSON line each:
// {"parse": "OK" | Handlebars' parse error message, "out": rendered text | "err": render error}.
// Rendering is Handlebars 4.7 with Mockoon's helperMissing (returns ''), against an empty context
// as Mockoon renders (its templates reach data through helpers only).
const path = require('path');
const Handlebars = require(path.join(process.argv[2], 'handlebars')).create();
Handlebars.registerHelper('helperMissing', function () { return ''; });
const lines = require('readline').createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const { t } = JSON.parse(line);
  const answer = {};
  try { Handlebars.parse(t); answer.parse = 'OK'; } catch (e) { answer.parse = String(e.message); }
  if (answer.parse === 'OK') {
    try { answer.out = Handlebars.compile(t)({}); } catch (e) { answer.err = String(e.message); }
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
