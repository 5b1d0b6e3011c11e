// Log template mining: the public surface of analyzers/templates.

export { TemplateMiner, type MinedTemplate, type MiningResult } from './miner.js';
export { templateId } from './hash.js';
export { maskToken, splitTokens, WILDCARD } from './tokenize.js';
export { learnHeader, messageStart, type HeaderModel } from './header.js';
export { groupingAccuracy, parseCsv, truthTemplates } from './accuracy.js';
