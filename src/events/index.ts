export {
  checkCodeTriggers,
  defineTrigger,
  isTriggerDefinition,
  type TriggerDefinition,
  type TriggerMapper,
  type TriggerOutput,
} from './define.ts';
export { type EventInput, type EventListFilter, type EventRecord, insertEvent, type JsonValue, listEvents, pruneEvents } from './events.ts';
export { type Filter, filterSchema, matchesFilter } from './filter.ts';
export { parsePointer, resolvePointer } from './pointer.ts';
export { type FiredTask, type PublishOptions, type PublishResult, publishEvent } from './publish.ts';
export { renderTemplate, type TriggerTemplate, templateSchema } from './template.ts';
export {
  createTrigger,
  deleteTrigger,
  getTrigger,
  listTriggers,
  putTrigger,
  type Trigger,
  type TriggerInput,
  triggersForEvent,
} from './triggers.ts';
