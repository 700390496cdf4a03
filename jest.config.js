/** Tests boot the real application and real engines; see ARCHITECTURE.md ("Tests") and scripts/test.sh. */
module.exports = {
  rootDir: '.',
  testEnvironment: '<rootDir>/tests/support/node-environment.js',
  roots: ['<rootDir>/tests'],
  testRegex: '\\.(spec|e2e-spec)\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json'}],
  },
  testTimeout: 60000,
  // Native engines (onnxruntime, FAISS, sharp) keep handles alive; the app is closed in every suite.
  forceExit: true,
};
