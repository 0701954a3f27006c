// Package forward holds what every forwarding destination shares: the File to forward, the
// Receipt a destination gives back, the Forwarder interface the pipeline calls, and
// DerivedID, the one place that turns a file version's id into the other stable ids a
// destination needs (request ids, entry ids), and the checks of a Basic credential pair.
//
// It does not talk to any API, retry, or decide which destinations a file goes to: the
// clients live in archive/salesforce, archive/genesys and archive/talkdesk, and the
// pipeline classifies their errors with package failure. Subpackage tokencache is the
// single-flight bearer-token cache those clients share.
package forward
