/** Absolute path of the executable drop-in for Prisma's native `schema-engine` binary. */
export declare const schemaEngineBinary: string;
