// Golden screens for ViewGoldenTests (80×24, fixture snapshot). Regenerate with update_goldens.py.
enum GoldenScreens {
    static let screens: [String: String] = [
        "categories": #"""
         cdctop › fixture › Categories                                     12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        ┌ Categories · sorted by total desc ───────────────────────────────────────────┐
        │category             window      last 5m         total▼  share                │
        │electronics        3,816.48    44,818.88   1,183,376.92  12.3% █▉             │
        │books              4,770.60    40,557.24   1,110,166.96  11.6% █▊             │
        │garden             5,724.72    37,601.08   1,040,828.56  10.9% █▋             │
        │toys               3,180.40    36,907.84     973,747.36  10.2% █▌             │
        │grocery            4,134.52    32,428.40     904,399.72   9.4% █▍             │
        │fashion            5,088.64    30,336.84     832,848.12   8.7% █▎             │
        │sports             2,544.32    28,668.56     767,460.04   8.0% █▎             │
        │beauty             3,498.44    25,067.80     692,076.04   7.2% █▏             │
        │home               4,452.56    25,199.56     629,642.12   6.6% █              │
        │automotive         1,908.24    20,100.16     554,812.96   5.8% ▉              │
        │music              2,862.36    17,374.12     484,197.68   5.0% ▊              │
        │家電 (applianc…      318.04    16,563.84     418,913.88   4.4% ▋              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  1-7/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme
        """#,
        "categories-sorted-filtered": #"""
         cdctop › fixture › Categories › /o                                12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        ┌ Categories · sorted by category asc · filter /o: 8 match ────────────────────┐
        │category▲            window      last 5m          total  share                │
        │automotive         1,908.24    20,100.16     554,812.96   5.8% ▉              │
        │books              4,770.60    40,557.24   1,110,166.96  11.6% █▊             │
        │electronics        3,816.48    44,818.88   1,183,376.92  12.3% █▉             │
        │fashion            5,088.64    30,336.84     832,848.12   8.7% █▎             │
        │grocery            4,134.52    32,428.40     904,399.72   9.4% █▍             │
        │home               4,452.56    25,199.56     629,642.12   6.6% █              │
        │sports             2,544.32    28,668.56     767,460.04   8.0% █▎             │
        │toys               3,180.40    36,907.84     973,747.36  10.2% █▌             │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  1-7/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme
        """#,
        "changes": #"""
         cdctop › fixture › Tables › transaction                           12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        ┌ Recent changes of transaction · newest first · Enter shows one event ────────┐
        │commit   op   key      position   changes                                     │
        │11:59:59 u    40999    p0@30999   status new → shipped, amount 79.00 → 80.50  │
        │11:59:59 c    40998    p2@30998   id=40998 status=new amount=78.00 customer_i…│
        │11:59:59 c    40997    p1@30997   id=40997 status=new amount=77.00 customer_i…│
        │11:59:59 u    40996    p0@30996   status new → paid, amount 76.00 → 77.50     │
        │11:59:59 c    40995    p2@30995   id=40995 status=new amount=75.00 customer_i…│
        │11:59:59 d    40994    p1@30994   id=40994 status=new amount=74.00 customer_i…│
        │11:59:59 u    40993    p0@30993   status new → shipped, amount 73.00 → 74.50  │
        │11:59:59 c    40992    p2@30992   id=40992 status=new amount=72.00 customer_i…│
        │11:59:59 c    40991    p1@30991   id=40991 status=new amount=71.00 customer_i…│
        │11:59:59 u    40990    p0@30990   status new → paid, amount 70.00 → 71.50     │
        │11:59:59 c    40989    p2@30989   id=40989 status=new amount=69.00 customer_i…│
        │11:59:59 c    40988    p1@30988   id=40988 status=new amount=68.00 customer_i…│
        │11:59:59 d    40987    p0@30987   id=40987 status=new amount=67.00 customer_i…│
        │11:59:59 c    40986    p2@30986   id=40986 status=new amount=66.00 customer_i…│
        │11:59:59 c    40985    p1@30985   id=40985 status=new amount=65.00 customer_i…│
        │11:59:59 u    40984    p0@30984   status new → paid, amount 64.00 → 65.50     │
        │11:59:58 c    40983    p2@30983   id=40983 status=new amount=63.00 customer_i…│
        └───────────────────────────────────────────────────────────────────────1-17/40┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  1-7/Tab views  ↑↓ move  Enter open  Esc back  p pause
        """#,
        "event": #"""
         cdctop › fixture › Tables › transaction › event [2]@30998         12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        ┌ transaction · c · shop.public.transaction[2]@30998 ──────────────────────────┐
        │key 40998   commit 11:59:59 UTC   position shop.public.transaction[2]@30998   │
        │                                                                              │
        │column             before (none)                 after                        │
        │id                                               40998                        │
        │status                                           new                          │
        │amount                                           78.00                        │
        │customer_id                                      738                          │
        │note                                             gift wrap                    │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  1-7/Tab views  ↑↓ move  Esc back  p pause  t theme  m mirror
        """#,
        "help": #"""
         cdctop › fixture › Overview                                       12:00:00 UTC
        ┌ Keys · cdctop ───────────────────────────────────────────────────────────────┐
        │ 1-7  Tab  Shift-Tab      switch view (the numbered tabs at the top)          │
        │ ↑ ↓  j k                 move the selection                                  │
        │ PgUp PgDn  Home End  g G page up / down, first / last                        │
        │ Enter  →  l              drill in: table › changes › event; History: a day   │
        │ Esc  ←  h  Backspace     back out; Categories: clear the filter              │
        │ s  S                     Categories: sort by the next column / reverse       │
        │ /                        Categories: filter (type, Enter keeps, Esc clears)  │
        │ p                        pause the display (engine keeps consuming)          │
        │ t                        next colour theme (themes/*.theme)                  │
        │ m                        Redis mirror on / off                               │
        │ r                        History: reload from the warehouse                  │
        │ ?                        this help (any key closes it)                       │
        │ q  Ctrl-C                quit                                                │
        │                                                                              │
        │ window: the 30s event-time window holding the newest commit                  │
        │ last 5m: windows starting in the last 5 minutes · new tx/s: creates, last 5 s│
        │ freshness: now − newest commit time · lag s: age of the last consumed commit │
        │ Lag verdict, last 30s: STALLED no progress · LAGGING lag grows or would take │
        │ more than 10s to drain at the rate seen · OK otherwise                       │
        │ state: age of the last durable checkpoint (--state); a restart resumes there │
        └──────────────────────────────────────────────────────────────────────────────┘
         ? help  q quit  1-7/Tab views  p pause  t theme  m mirror
        """#,
        "history": #"""
         cdctop › fixture › History                                        12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        ┌ Daily revenue · 14 days + today ───────────┐┌ Reconciliation ────────────────┐
        │              █                             ││AGREE for 1m35s                 │
        │              █                             ││since 11:58:25 UTC              │
        │              █                             ││checked 11:59:56 UTC            │
        │▁▁▁▁▁▁▁ ▁▁▁▁▁▁█                             ││              engine     source │
        │loaded 12:00:00 UTC · r reloads             ││tx        1,737,416  1,737,416  │
        └────────────────────────────────────────────┘│revenue  73,266,833 73,266,833  │
        ┌ Days (Enter shows a day's categories) ─────┐│drift: none                     │
        │day                   tx        revenue     ││lag at check: 0 msgs            │
        │2025-11-23*    1,737,416  73,266,832.72 ████││source: shop @ 127.0.0.1:5432   │
        │2025-11-22        47,919   2,020,744.23 ▏   ││                                │
        │2025-11-21        46,838   1,975,158.46 ▏   ││                                │
        │2025-11-20        45,757   1,929,572.69 ▏   ││                                │
        │2025-11-19        44,676   1,883,986.92 ▏   ││                                │
        │2025-11-18        43,595   1,838,401.15 ▏   ││                                │
        │2025-11-17        42,514   1,792,815.38 ▏   ││                                │
        │2025-11-16        26,433   1,114,679.61 ▏   ││                                │
        │2025-11-15        40,352   1,701,643.84 ▏   ││                                │
        │2025-11-14        48,271   2,035,588.07 ▏   ││                                │
        └─────────────────────────────────────1-10/15┘└────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ● ok │ state ● 3.0s ago       malformed 3
         ? help  q quit  1-7/Tab views  ↑↓ move  Enter day  r reload  p pause  t theme
        """#,
        "history-day": #"""
         cdctop › fixture › History › 2025-11-22                           12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        ┌ 2025-11-22 · 47,919 tx · 2,020,744.23 · E… ┐┌ Reconciliation ────────────────┐
        │category              revenue  share        ││AGREE for 1m35s                 │
        │electronics        143,757.00  13.2% █▌     ││since 11:58:25 UTC              │
        │books              134,173.20  12.3% █▍     ││checked 11:59:56 UTC            │
        │garden             124,589.40  11.4% █▎     ││              engine     source │
        │toys               115,005.60  10.5% █▏     ││tx        1,737,416  1,737,416  │
        │grocery            105,421.80   9.6% █      ││revenue  73,266,833 73,266,833  │
        │fashion             95,838.00   8.8% █      ││drift: none                     │
        │sports              86,254.20   7.9% ▉      ││lag at check: 0 msgs            │
        │beauty              76,670.40   7.0% ▊      ││source: shop @ 127.0.0.1:5432   │
        │home                67,086.60   6.1% ▋      ││                                │
        │automotive          57,502.80   5.3% ▋      ││                                │
        │music               47,919.00   4.4% ▌      ││                                │
        │家電 (applian…      38,335.20   3.5% ▍      ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        └────────────────────────────────────────────┘└────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ● ok │ state ● 3.0s ago       malformed 3
         ? help  q quit  1-7/Tab views  ↑↓ move  Enter day  r reload  p pause  t theme
        """#,
        "history-off": #"""
         cdctop › fixture › History                                        12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        ┌ History ───────────────────────────────────┐┌ Reconciliation ────────────────┐
        │                                            ││No reconciliation yet.          │
        │No warehouse connected.                     ││                                │
        │                                            ││cdctop compares its running     │
        │History shows daily revenue and             ││totals with the source database │
        │transactions from the PostgreSQL            ││(count and sum) when it is      │
        │warehouse that cdctop writes to.            ││caught up; the verdict shows    │
        │                                            ││here: agree, drift or waiting.  │
        │To enable it, start cdctop with             ││                                │
        │  --warehouse postgresql://USER@HOST:5432/DB││                                │
        │                                            ││                                │
        │Today so far (live): 73,266,832.72          ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        └────────────────────────────────────────────┘└────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  1-7/Tab views  ↑↓ move  Enter day  r reload  p pause  t theme
        """#,
        "lag": #"""
         cdctop › fixture › Lag                                            12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        ┌ Topics shop.public.* · lag 5,418 msgs · verdicts over 30s ───────────────────┐
        │topic              p committed position  high wm    lag  lag s trend   verdict│
        │customer           0     57880    58000    58000      0     0s ▁▁▁▁▁▁▁ OK     │
        │customer           1     57373    57493    57500      7  400ms ▁▁▁▁▁▁▁ OK     │
        │customer           2     56924    57044    57058     14  400ms ▂▂▂▂▂▂▂ OK     │
        │product            0     58437    58557    58571     14  400ms ▂▂▂▂▂▂▂ OK     │
        │product            1     57880    58000    58000      0     0s ▁▁▁▁▁▁▁ OK     │
        │product            2     57373    57493    57500      7  400ms ▁▁▁▁▁▁▁ OK     │
        │transaction        0     59880    60000    60000      0     0s ▁▁▁▁▁▁▁ OK     │
        │transaction        1     59103    59223    59230      7  400ms ▁▁▁▁▁▁▁ OK     │
        │transaction        2     58437    58557    58571     14  400ms ▂▂▂▂▂▂▂ OK     │
        │transactiondetail  0     59103    59223    59230      7  400ms ▁▁▁▁▁▁▁ OK     │
        │transactiondetail  1     58437    58557    58571     14  400ms ▂▂▂▂▂▂▂ OK     │
        │transactiondetail  2     52546    52666    58000  5,334  40.0s ▇▇▇▇███ STALLED│
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  1-7/Tab views  ↑↓ move  p pause  t theme  m mirror
        """#,
        "overview": #"""
         cdctop › fixture › Overview                                       12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        ┌ Window revenue ──┐┌ Last 5m revenue ─┐┌ Total revenue ───┐┌ Avg ticket ──────┐
        │        335,293.67││      2,707,988.72││     73,266,832.72││             42.17│
        │ 30s from 11:59:30││         64,216 tx││       since start││      revenue ÷ tx│
        └──────────────────┘└──────────────────┘└──────────────────┘└──────────────────┘
        ┌ Transactions ────┐┌ Events/s ────────┐┌ Total lag ───────┐┌ Freshness ───────┐
        │         1,737,416││             1,800││        5,418 msgs││             400ms│
        │    225.0 new tx/s││      240,000 msgs││      catching up…││ now − last commit│
        └──────────────────┘└──────────────────┘└──────────────────┘└──────────────────┘
        ┌ Revenue per 30s window ──────────────────────┐┌ Top categories (total) ──────┐
        │                                          ▇  █││electronics ████████ 1,183,377│
        │                                  ▂  ▃  ▆ ██▁█││books       ███████▌ 1,110,167│
        │ ▅    ▅  ▁       ▂             █▁ █▃ █▅ █▇████││garden      ███████  1,040,829│
        │ █▃ █ █▄ █  ▆  ▃ █▂ █  █  █  █▁██▂██▄██▆██████││toys        ██████▋    973,747│
        │▇██▂█▇██▃██ █▅ █▃██▂██▁██ ██▁█████████████████││grocery     ██████▏    904,400│
        │██████████████▅███████████████████████████████││fashion     █████▋     832,848│
        │██████████████████████████████████████████████││sports      █████▎     767,460│
        │██████████████████████████████████████████████││beauty      ████▋      692,076│
        │██████████████████████████████████████████████││home        ████▎      629,642│
        │46 windows · peak 335,293.67 · now 335,293.67 ││automotive  ███▊       554,813│
        └──────────────────────────────────────────────┘└──────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  1-7/Tab views  p pause  t theme  m mirror
        """#,
        "overview-ascii": #"""
         cdctop > fixture > Overview                                       12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        + Window revenue --++ Last 5m revenue -++ Total revenue ---++ Avg ticket ------+
        |        335,293.67||      2,707,988.72||     73,266,832.72||             42.17|
        | 30s from 11:59:30||         64,216 tx||       since start||      revenue / tx|
        +------------------++------------------++------------------++------------------+
        + Transactions ----++ Events/s --------++ Total lag -------++ Freshness -------+
        |         1,737,416||             1,800||        5,418 msgs||             400ms|
        |    225.0 new tx/s||      240,000 msgs||    catching up...|| now - last commit|
        +------------------++------------------++------------------++------------------+
        + Revenue per 30s window ----------------------++ Top categories (total) ------+
        |                                          #  #||electronics ######## 1,183,377|
        |                                  .  -  * ##_#||books       ######## 1,110,167|
        | =    =  _       .             #_ #- #= ######||garden      #######  1,040,829|
        | #- # #~ #  *  - #. #  #  #  #_##.##~##*######||toys        #######    973,747|
        |###.####-## #= #-##.##_## ##_#################||grocery     ######     904,400|
        |##############=###############################||fashion     ######     832,848|
        |##############################################||sports      #####      767,460|
        |##############################################||beauty      #####      692,076|
        |##############################################||home        ####       629,642|
        |46 windows - peak 335,293.67 - now 335,293.67 ||automotive  ####       554,813|
        +----------------------------------------------++------------------------------+
         Kafka * ok | Redis o off | Warehouse o off | state * 3.0s ago      malformed 3
         ? help  q quit  1-7/Tab views  p pause  t theme  m mirror
        """#,
        "tables": #"""
         cdctop › fixture › Tables                                         12:00:00 UTC
          1 Overview  2 Tables  3 Categories  4 Lag  5 History  6 Alerts  7 Latency
        ┌ CDC tables · counts by op (c create, u update, d delete, r snapshot read) ───┐
        │table                    c       u       d       r  tomb    ev/s    last  malf│
        │customer            18,142   6,047     907   1,250   907     360    5.5s     0│
        │product             21,000   7,000   1,050   1,666 1,050     450    3.8s     0│
        │transaction         31,000  10,333   1,550   5,000 1,550     900   400ms     0│
        │transactiondetail   25,000   8,333   1,250   2,500 1,250     600    2.1s     3│
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌ Counters since start ────────────────────────────────────────────────────────┐
        │msgs 240,000 · tombstones 412 · heartbeats 0 · malformed 3 · refused 0        │
        │dropped 0 · late corrections 17 · duplicates 4 · unmatched 6 · ignored 120    │
        │parked 2                                                                      │
        │unmatched 6 — started after the snapshot? changes to rows cdctop never saw    │
        │state .cdctop/state — checkpoint 3.0s ago, 12 so far                          │
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌ Malformed messages (latest first: table, position, reason) ──────────────────┐
        │transactiondetail p1@5123  decimal 'unit_price' has scale 12 (more than 9 pla…│
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  1-7/Tab views  ↑↓ move  Enter open  p pause  t theme
        """#,
    ]
}
