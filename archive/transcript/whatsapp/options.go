package whatsapp

import (
	"fmt"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
)

// Format is the value of transcript.Conversation.Format for a WhatsApp chat.
const Format = "whatsapp"

// DateOrder is the order of day, month and year in the dates of a chat.
type DateOrder string

const (
	OrderAuto DateOrder = ""    // infer it from the file; ambiguous files are an error
	OrderDMY  DateOrder = "dmy" // 31/12/2023 (most of the world, German, French, Spanish)
	OrderMDY  DateOrder = "mdy" // 12/31/23 (US English)
	OrderYMD  DateOrder = "ymd" // 2023-12-31
)

// ParseDateOrder checks a watch's date_order: value ("" is OrderAuto).
func ParseDateOrder(s string) (DateOrder, error) {
	switch o := DateOrder(s); o {
	case OrderAuto, OrderDMY, OrderMDY, OrderYMD:
		return o, nil
	}
	return "", fmt.Errorf("date_order %q: want dmy, mdy or ymd", s)
}

// Options configure OpenZip and OpenText.
type Options struct {
	// Location is the zone of the phone that exported the chat: WhatsApp writes local times
	// without a zone. Required (the watch's timezone: key).
	Location *time.Location
	// DateOrder settles the day/month order when no date of the file does. When the file
	// shows an order (a day above 12), a DateOrder that contradicts it is an error.
	DateOrder DateOrder
	Limits    Limits
}

// Limits bound what is read from one export. A zero field takes its default.
type Limits struct {
	MaxLine    int   // bytes of one line (default 256 KiB; WhatsApp caps a message at 65,536 characters)
	MaxMessage int   // bytes of one message with its continuation lines (default 1 MiB)
	MaxText    int64 // bytes of the chat text, loose or uncompressed in a ZIP (default 4 GiB)
	MaxMedia   int64 // uncompressed bytes of one media entry (default 1.0 GB, Global Relay's limit)
	MaxPeople  int   // distinct authors of one chat (default 10,000; a group holds at most 1,024)
	MaxBatch   int   // events per Batch (default 5,000)
	// MaxRatio is the largest uncompressed/compressed ratio accepted for an entry larger
	// than RatioFloor (default 100; chat text compresses about 5:1, bombs 1000:1).
	MaxRatio   int64
	RatioFloor int64 // default 1 MiB
}

func (l Limits) withDefaults() Limits {
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&l.MaxLine, 256<<10)
	defInt(&l.MaxMessage, 1<<20)
	def(&l.MaxText, 4<<30)
	def(&l.MaxMedia, transcript.MaxAttachmentSize)
	defInt(&l.MaxPeople, 10000)
	defInt(&l.MaxBatch, 5000)
	def(&l.MaxRatio, 100)
	def(&l.RatioFloor, 1<<20)
	return l
}
