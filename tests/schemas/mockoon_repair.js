// What Mockoon 9.9 loads for an environment: its migrations (as the desktop app runs them,
// recording lastMigration and the disabled routes), then its repairing schema and repairRefs.
// Usage: node mockoon_repair.js <path to @mockoon/commons> < environment.json
const commons = require(process.argv[2]);

let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  let environment = JSON.parse(input);
  let disabledRoutes = [];
  let migrationFailed = false;
  try {
    if (environment.lastMigration !== undefined) {
      for (const migration of commons.Migrations) {
        if (migration.id > environment.lastMigration) {
          const action = migration.migrationFunction(environment);
          environment.lastMigration = migration.id;
          if (action && action.disabledRoutesUuids) {
            disabledRoutes = action.disabledRoutesUuids;
          }
        }
      }
    }
  } catch (_error) {
    migrationFailed = true;
    environment.lastMigration = commons.HighestMigrationId;
  }
  environment = commons.EnvironmentSchema.validate(environment).value;
  environment = commons.repairRefs(environment);
  process.stdout.write(JSON.stringify({ environment, disabledRoutes, migrationFailed }));
});
