export interface ProjectOptions {
  /** The project whose prisma/schema.prisma and prisma/migrations are used; default: the working directory. */
  root?: string;
}

/** Applies pending migrations and returns their names; serialised across processes by an advisory lock. */
export declare function applyMigrations(url: string, options?: ProjectOptions): Promise<string[]>;

/** Names of the project's migrations that the database has not applied (empty when up to date). */
export declare function pendingMigrations(url: string, options?: ProjectOptions): Promise<string[]>;
