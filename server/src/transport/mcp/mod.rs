//! The Model Context Protocol front end: the session tools (`tools`) for
//! agent hosts, served on a hub's port at `/mcp` (Streamable HTTP, behind
//! the same front door and token as everything else) and over stdio by
//! `vtr mcp`, which calls a hub or spoke through its socket.

pub mod tools;
