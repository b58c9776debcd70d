// Loads the compiled addon; throws if it was not built (callers catch and fall back).
module.exports = require('./build/blas.node');
