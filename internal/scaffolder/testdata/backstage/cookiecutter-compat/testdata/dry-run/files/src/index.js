module.exports = { name: "invoice-lib", db: true };
