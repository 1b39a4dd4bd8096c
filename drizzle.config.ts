import { defineConfig } from 'drizzle-kit';

// drizzle-kit only generates and checks migrations here; it never talks to a database, so no URL is needed.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './drizzle',
  strict: true,
  verbose: true,
});
