export class EmbeddedPostgresError extends Error {
  readonly code = 'EmbeddedPostgresError';
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
}
