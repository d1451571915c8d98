// Answers as Mockoon's valid_json_schema rule does: one JSON line {"schema", "value"} in,
// one line out ("true"/"false", or with --why the compile error too).
// Run with NODE_PATH pointing at a node_modules holding ajv 8 and ajv-formats 3.
const Ajv = require("ajv").default;
const addFormats = require("ajv-formats");
const readline = require("readline");
const why = process.argv.includes("--why");
const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on("line", (line) => {
  const { schema, value } = JSON.parse(line);
  const ajv = new Ajv();
  addFormats(ajv);
  let answer;
  let error = "";
  try {
    answer = ajv.compile(schema)(value);
  } catch (e) {
    answer = false;
    error = String(e && e.message).split("\n")[0];
  }
  process.stdout.write(why ? JSON.stringify([answer, error]) + "\n" : (answer ? "true\n" : "false\n"));
});
