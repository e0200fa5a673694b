import LatchkeyProxy

/// A small bar chart of successes (green) and failures (red) per hour, drawn on the server as inline SVG; with other
/// colours and a unit, any pair of counts per slot (an org's managed and own calls per day).
/// The SVG holds only numbers this code computes, never a value from a provider or a user.
struct HourlyChart {
    let hours: [OutcomeCounts]
    /// The element id and what the bars count, for the accessible label.
    var id = "refresh-chart"
    var label = "Refreshes (green) and failures (red)"
    /// The colours of the first and second count of each slot.
    var colours = ("#2a9d4b", "#d33")
    /// One slot's unit: `h` for hours, `d` for days.
    var unit = "h"
    var width = 600
    var height = 140

    var svg: String {
        let top = 10, bottom = 20
        let plot = height - top - bottom
        let peak = max(1, hours.map { max($0.succeeded, $0.failed) }.max() ?? 1)
        let slot = Double(width - 40) / Double(max(1, hours.count))
        let bar = max(1.0, slot / 2 - 1)
        var out = """
            <svg id="\(id)" xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
            role="img" aria-label="\(label) per \(unit == "d" ? "day" : "hour"), last \(hours.count) \(unit == "d" ? "days" : "hours")">
            <line x1="30" y1="\(top + plot)" x2="\(width)" y2="\(top + plot)" stroke="#c9ceda"/>
            <text x="0" y="\(top + 8)" font-size="10" fill="#5b6475">\(peak)</text><text x="0" y="\(top + plot)" font-size="10" fill="#5b6475">0</text>
            """
        for (i, counts) in hours.enumerated() {
            let x = 32 + Double(i) * slot
            for (offset, value, colour) in [(0.0, counts.succeeded, colours.0), (bar + 1, counts.failed, colours.1)] where value > 0 {
                let h = Double(plot) * Double(value) / Double(peak)
                out += "<rect class=\"\(offset == 0 ? "ok" : "fail")\" x=\(q(x + offset)) y=\(q(Double(top + plot) - h)) width=\(q(bar)) height=\(q(h)) fill=\"\(colour)\"/>"
            }
        }
        out += "<text x=\"32\" y=\"\(height - 4)\" font-size=\"10\" fill=\"#5b6475\">\(hours.count) \(unit) ago</text>"
        out += "<text x=\"\(width - 30)\" y=\"\(height - 4)\" font-size=\"10\" fill=\"#5b6475\">\(unit == "d" ? "today" : "now")</text></svg>"
        return out
    }

    private func q(_ value: Double) -> String { "\"\((value * 10).rounded() / 10)\"" }
}
