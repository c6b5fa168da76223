export declare const EMBEDDED_MAX_CONNECTIONS: number;

export interface EmbeddedPostgres {
  /** postgresql://postgres@127.0.0.1:<port>/postgres */
  url: string;
  dataDir: string;
  /** True when this start initialised an empty data folder. */
  created: boolean;
  /** Stops the socket server and closes the database; safe to call more than once. */
  stop(): Promise<void>;
}

export declare function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  anyPortIfTaken?: boolean;
  maxConnections?: number;
}): Promise<EmbeddedPostgres>;
