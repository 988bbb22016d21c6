package session

import "context"

// SendText sends text, exactly as written and valid or not, as one text
// frame on the connection's live socket (client.SendText). The frame log
// shows it marked Composed, and the server's answer follows it there: an
// error frame, an ack, or — for text KalamDB cannot parse — a close with
// 1011 "Invalid message: …", after which the connection reconnects and
// resumes its subscriptions as after any drop, and its state says why.
func (c *Conn) SendText(ctx context.Context, text string) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	return cl.SendText(ctx, text)
}
