// Loads a TypeScript worker script in a worker thread when the service runs from sources (tests,
// `nest start`); the compiled build uses the .js worker directly. See worker-file.ts.
require('ts-node').register({
  transpileOnly: true,
  project: require('node:path').join(__dirname, '../../../tsconfig.json'),
});
const { workerData } = require('piscina');
const mod = require(workerData.tsWorker);
module.exports = mod.default || mod;
