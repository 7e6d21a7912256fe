package markdown

import (
	"context"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
)

// typicalPost is a reply of about 1 KB as boards see them: quotes of posts
// in and out of the thread, greentext, a cross-board link, a spoiler,
// emphasis and a URL.
const typicalPost = `>>34
>>35
>be me, 25, just got home from work
>decide to finally try the new ramen place downtown
>line out the door, wait 40 minutes in the cold
>get inside, order the spicy miso with extra chashu
>it arrives and it is honestly the best thing I have eaten all year
>mfw I have been eating instant noodles for a decade

You are both wrong about the broth, by the way. A proper tonkotsu takes
twelve hours at a rolling boil, not three, and anyone who tells you
otherwise is selling you a packet. The place >>34 mentioned gets it right,
the one in >>>/ck/56 does not. ||The secret is the fat, not the bones.||

If you want to try it at home, the recipe that worked for me is here:
https://example.com/recipes/tonkotsu-broth?servings=4&time=12h

**Do not** skip the blanching step, and *never* let it simmer gently or
the emulsion breaks and you get a clear soup instead of a creamy one.
>inb4 "just buy it"
>inb4 someone posts the same recipe again
Anyway, what toppings are you guys using? I have been doing soft eggs
marinated overnight in soy and mirin, menma, and a lot of scallions.`

func benchInput() maniwani.RenderInput {
	return maniwani.RenderInput{
		Board: "b", Thread: 12, Body: typicalPost,
		Threads: map[maniwani.Ref]int64{{Board: "b", No: 34}: 12, {Board: "b", No: 35}: 40, {Board: "ck", No: 56}: 50},
		Boards:  map[string]bool{"b": true, "ck": true},
	}
}

// BenchmarkRender renders the typical post afresh each time.
func BenchmarkRender(b *testing.B) {
	r := NewRenderer(RendererConfig{})
	in := benchInput()
	ctx := context.Background()
	b.SetBytes(int64(len(in.Body)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := r.Render(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renders/s")
	reportCPU(b, start)
}

// BenchmarkRenderCached renders the typical post from the in-process
// cache: the key's SHA-256 and a map look-up.
func BenchmarkRenderCached(b *testing.B) {
	r := NewRenderer(RendererConfig{Cache: NewMemoryCache(0)})
	in := benchInput()
	ctx := context.Background()
	r.Render(ctx, in)
	b.SetBytes(int64(len(in.Body)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := r.Render(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renders/s")
	reportCPU(b, start)
}

// BenchmarkRefs is the api's other use of the parser, once per post.
func BenchmarkRefs(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Refs("b", typicalPost)
	}
}

// reportCPU reports the CPU time of each iteration since start, and the
// renders one core makes in a second of it: with -cpu 1 the figure that
// holds however busy the machine is with other work.
func reportCPU(b *testing.B, start time.Duration) {
	if start == 0 {
		return
	}
	perOp := float64(cpuTime()-start) / float64(b.N)
	b.ReportMetric(perOp, "cpu-ns/op")
	b.ReportMetric(1e9/perOp, "renders/cpu-s")
}
