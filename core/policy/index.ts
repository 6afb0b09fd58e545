// The policy language: parse documents, evaluate them, and the default key policy.
export * from './document.js';
export * from './conditions.js';
export * from './evaluate.js';
export * from './defaults.js';
